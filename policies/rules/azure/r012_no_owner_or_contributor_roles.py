"""MLOPS_AZ_012: Role assignments grant no Owner, Contributor or access-administration role."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc

# built-in roles by name and by their fixed definition GUID
BROAD = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
}


@rule(
    id="MLOPS_AZ_012",
    name="Role assignments grant no Owner, Contributor or access-administration role",
    severity="critical",
    category="iam",
    applies_to=("azurerm_role_assignment",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_role_assignment"):
        name = b.get("role_definition_name")
        rid = str(b.get("role_definition_id") or "").lower()
        hit = name if name in BROAD else next((n for n, g in BROAD.items() if g in rid), None)
        yield addr, hit is None, "" if hit is None else f"{hit} is too broad; grant a narrower built-in or custom role"
