"""MLOPS_AWS_006: KMS keys rotate yearly."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(id="MLOPS_AWS_006", name='KMS keys rotate yearly', severity="medium", category="baseline", applies_to=('aws_kms_key',))
def check(d: Doc):
    for addr, b in d.of("aws_kms_key"):
        ok = b.get("enable_key_rotation") is True
        yield addr, ok, "" if ok else "enable_key_rotation is not true"
