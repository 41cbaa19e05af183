"""MLOPS_AWS_025: Notification topics are encrypted with a KMS key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(id="MLOPS_AWS_025", name='Notification topics are encrypted with a KMS key', severity="low", category="monitoring", applies_to=('aws_sns_topic',))
def check(d: Doc):
    for addr, b in d.of("aws_sns_topic"):
        ok = bool(b.get("kms_master_key_id"))
        yield addr, ok, "" if ok else "kms_master_key_id is not set"
