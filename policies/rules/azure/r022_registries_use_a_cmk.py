"""MLOPS_AZ_022: Container registries are encrypted with a customer-managed key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block, refs


@rule(
    id="MLOPS_AZ_022",
    name="Container registries are encrypted with a customer-managed key",
    severity="high",
    category="registry",
    applies_to=("azurerm_container_registry",),
)
def check(d: Doc):
    keys = {a for a, _ in d.of("azurerm_key_vault_key")}
    for addr, b in d.of("azurerm_container_registry"):
        enc = block(b, "encryption")
        ok = (
            enc.get("enabled") is not False
            and bool(refs(enc.get("key_vault_key_id")) & keys)
            and bool(enc.get("identity_client_id"))
        )
        yield addr, ok, "" if ok else "no encryption block with a key from this stack's vault and an identity"
