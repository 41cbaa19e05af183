"""MLOPS_AWS_019: Serving endpoint storage is encrypted with a KMS key."""

from mlops_blueprint.policies.checks import ANY_VALUE, value_rule

value_rule(
    id="MLOPS_AWS_019",
    name="Serving endpoint storage is encrypted with a KMS key",
    severity="high",
    category="serving",
    resource_type="aws_sagemaker_endpoint_configuration",
    path=("kms_key_arn",),
    expected=ANY_VALUE,
    message="kms_key_arn is not set",
)
