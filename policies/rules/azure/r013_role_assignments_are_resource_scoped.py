"""MLOPS_AZ_013: Role assignments are scoped to a resource, never a subscription or resource group."""

import re

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.azure import references
from mlops_blueprint.policies.tfjson import Doc

WIDE_LITERAL = re.compile(
    r"^(/subscriptions/[^/]+(/resource[Gg]roups/[^/]+)?|/providers/Microsoft\.Management/"
    r"managementGroups/[^/]+|/)/?$"
)
WIDE_TYPES = (
    "azurerm_resource_group",
    "data.azurerm_resource_group",
    "data.azurerm_subscription",
    "azurerm_management_group",
    "data.azurerm_management_group",
    "azurerm_subscription",
)


def too_wide(scope: object) -> bool:
    if not isinstance(scope, str) or not scope:
        return True
    if WIDE_LITERAL.match(scope):
        return True
    # a reference that is the whole scope (`${azurerm_resource_group.x.id}`) or a subscription built from parts
    whole = re.fullmatch(r"\$\{([^}]*)\}", scope)
    if whole and any(r.rsplit(".", 1)[0] in WIDE_TYPES for r in references(scope)):
        return True
    return bool(re.fullmatch(r"/subscriptions/\$\{[^}]*\}(/resource[Gg]roups/[^/]+)?/?", scope))


@rule(
    id="MLOPS_AZ_013",
    name="Role assignments are scoped to a resource, never a subscription or resource group",
    severity="high",
    category="iam",
    applies_to=("azurerm_role_assignment",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_role_assignment"):
        ok = not too_wide(b.get("scope"))
        yield (
            addr,
            ok,
            "" if ok else f"scope {b.get('scope')!r} covers a subscription or resource group; scope it to the resource",
        )
