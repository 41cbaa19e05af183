"""MLOPS_AWS_027: Secrets are encrypted with a customer-managed key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(id="MLOPS_AWS_027", name='Secrets are encrypted with a customer-managed key', severity="medium", category="baseline", applies_to=('aws_secretsmanager_secret',))
def check(d: Doc):
    for addr, b in d.of("aws_secretsmanager_secret"):
        ok = bool(b.get("kms_key_id"))
        yield addr, ok, "" if ok else "kms_key_id is not set (AWS-managed key)"
