"""MLOPS_AWS_017: Image repositories scan every pushed image."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(id="MLOPS_AWS_017", name='Image repositories scan every pushed image', severity="medium", category="registry", applies_to=('aws_ecr_repository',))
def check(d: Doc):
    for addr, b in d.of("aws_ecr_repository"):
        ok = b.get("image_scanning_configuration", {}).get("scan_on_push") is True
        yield addr, ok, "" if ok else "scan_on_push is not true"
