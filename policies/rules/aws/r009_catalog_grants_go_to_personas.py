"""MLOPS_AWS_009: Lake Formation grants go only to the platform persona roles."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, refs


@rule(
    id="MLOPS_AWS_009",
    name="Lake Formation grants go only to the platform persona roles",
    severity="high",
    category="catalog",
    applies_to=("aws_lakeformation_permissions",),
)
def check(d: Doc):
    personas = {
        a for a, b in d.of("aws_iam_role") if "/baseline/role-" in b.get("//", {}).get("metadata", {}).get("path", "")
    }
    for addr, b in d.of("aws_lakeformation_permissions"):
        ok = bool(refs(b.get("principal")) & personas)
        yield addr, ok, "" if ok else f"principal {b.get('principal')!r} is not a persona role of this platform"
