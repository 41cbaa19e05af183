"""MLOPS_AWS_017: Image repositories scan every pushed image."""

from mlops_blueprint.policies.checks import value_rule

value_rule(
    id="MLOPS_AWS_017",
    name="Image repositories scan every pushed image",
    severity="medium",
    category="registry",
    resource_type="aws_ecr_repository",
    path=("image_scanning_configuration", "scan_on_push"),
    expected=True,
    message="scan_on_push is not true",
)
