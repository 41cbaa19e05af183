"""MLOPS_AWS_025: Notification topics are encrypted with a KMS key."""

from mlops_blueprint.policies.checks import ANY_VALUE, value_rule

value_rule(
    id="MLOPS_AWS_025",
    name="Notification topics are encrypted with a KMS key",
    severity="low",
    category="monitoring",
    resource_type="aws_sns_topic",
    path=("kms_master_key_id",),
    expected=ANY_VALUE,
    message="kms_master_key_id is not set",
)
