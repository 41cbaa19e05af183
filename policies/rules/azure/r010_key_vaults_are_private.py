"""MLOPS_AZ_010: Key vaults are closed to public networks."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_AZ_010",
    name="Key vaults are closed to public networks",
    severity="high",
    category="baseline",
    applies_to=("azurerm_key_vault",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_key_vault"):
        ok = (
            b.get("public_network_access_enabled") is False and block(b, "network_acls").get("default_action") == "Deny"
        )
        yield (
            addr,
            ok,
            "" if ok else "public_network_access_enabled is not false or network_acls.default_action is not Deny",
        )
