"""MLOPS_AWS_027: Secrets are encrypted with a customer-managed key."""

from mlops_blueprint.policies.checks import ANY_VALUE, value_rule

value_rule(
    id="MLOPS_AWS_027",
    name="Secrets are encrypted with a customer-managed key",
    severity="medium",
    category="baseline",
    resource_type="aws_secretsmanager_secret",
    path=("kms_key_id",),
    expected=ANY_VALUE,
    message="kms_key_id is not set (AWS-managed key)",
)
