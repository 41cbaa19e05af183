"""MLOPS_AWS_019: Serving endpoint storage is encrypted with a KMS key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(id="MLOPS_AWS_019", name='Serving endpoint storage is encrypted with a KMS key', severity="high", category="serving", applies_to=('aws_sagemaker_endpoint_configuration',))
def check(d: Doc):
    for addr, b in d.of("aws_sagemaker_endpoint_configuration"):
        ok = bool(b.get("kms_key_arn"))
        yield addr, ok, "" if ok else "kms_key_arn is not set"
