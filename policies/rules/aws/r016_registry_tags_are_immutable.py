"""MLOPS_AWS_016: Image repositories refuse to overwrite a tag."""

from mlops_blueprint.policies.checks import value_rule

value_rule(
    id="MLOPS_AWS_016",
    name="Image repositories refuse to overwrite a tag",
    severity="high",
    category="registry",
    resource_type="aws_ecr_repository",
    path=("image_tag_mutability",),
    expected="IMMUTABLE",
    message="image_tag_mutability is not IMMUTABLE",
)
