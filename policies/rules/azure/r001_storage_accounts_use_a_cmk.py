"""MLOPS_AZ_001: Storage accounts are encrypted with a customer-managed key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block, refs


@rule(
    id="MLOPS_AZ_001",
    name="Storage accounts are encrypted with a customer-managed key",
    severity="high",
    category="data_lake",
    applies_to=("azurerm_storage_account",),
)
def check(d: Doc):
    keys = {a for a, _ in d.of("azurerm_key_vault_key")}
    for addr, b in d.of("azurerm_storage_account"):
        separate = [
            k
            for _, k in d.referencing("azurerm_storage_account_customer_managed_key", addr, "storage_account_id")
            if refs(k.get("key_vault_key_id")) & keys or k.get("managed_hsm_key_id")
        ]
        inline = block(b, "customer_managed_key")
        ok = bool(separate) or bool(refs(inline.get("key_vault_key_id")) & keys or inline.get("managed_hsm_key_id"))
        yield (
            addr,
            ok,
            ""
            if ok
            else (
                "no storage_account_customer_managed_key (or customer_managed_key block) with "
                "a key from this stack's vault: Microsoft-managed keys only"
            ),
        )
