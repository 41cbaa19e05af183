"""MLOPS_AWS_006: KMS keys rotate yearly."""

from mlops_blueprint.policies.checks import value_rule

value_rule(
    id="MLOPS_AWS_006",
    name="KMS keys rotate yearly",
    severity="medium",
    category="baseline",
    resource_type="aws_kms_key",
    path=("enable_key_rotation",),
    expected=True,
    message="enable_key_rotation is not true",
)
