"""MLOPS_AZ_009: Key vaults authorize data access through Azure RBAC, not access policies."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_AZ_009",
    name="Key vaults authorize data access through Azure RBAC, not access policies",
    severity="high",
    category="iam",
    applies_to=("azurerm_key_vault",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_key_vault"):
        rbac = b.get("rbac_authorization_enabled", b.get("enable_rbac_authorization"))
        policies = as_list(b.get("access_policy"))
        ok = rbac is True and not policies
        yield addr, ok, "" if ok else "rbac_authorization_enabled is not true, or the vault has access_policy blocks"
