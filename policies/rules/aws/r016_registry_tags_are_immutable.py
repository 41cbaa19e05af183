"""MLOPS_AWS_016: Image repositories refuse to overwrite a tag."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(id="MLOPS_AWS_016", name='Image repositories refuse to overwrite a tag', severity="high", category="registry", applies_to=('aws_ecr_repository',))
def check(d: Doc):
    for addr, b in d.of("aws_ecr_repository"):
        ok = b.get("image_tag_mutability") == "IMMUTABLE"
        yield addr, ok, "" if ok else "image_tag_mutability is not IMMUTABLE"
