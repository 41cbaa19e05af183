"""MLOPS_AZ_011: Key Vault keys rotate automatically."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_AZ_011",
    name="Key Vault keys rotate automatically",
    severity="high",
    category="baseline",
    applies_to=("azurerm_key_vault_key",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_key_vault_key"):
        auto = block(b, "rotation_policy", "automatic")
        ok = bool(auto.get("time_after_creation") or auto.get("time_before_expiry"))
        yield addr, ok, "" if ok else "no rotation_policy.automatic (time_after_creation or time_before_expiry)"
