"""MLOPS_AWS_018: Image repositories are encrypted with a KMS key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_AWS_018",
    name="Image repositories are encrypted with a KMS key",
    severity="medium",
    category="registry",
    applies_to=("aws_ecr_repository",),
)
def check(d: Doc):
    for addr, b in d.of("aws_ecr_repository"):
        ok = any(
            e.get("encryption_type") == "KMS" and e.get("kms_key") for e in as_list(b.get("encryption_configuration"))
        )
        yield addr, ok, "" if ok else "no KMS encryption_configuration"
