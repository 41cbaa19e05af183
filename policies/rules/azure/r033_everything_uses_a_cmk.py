"""MLOPS_AZ_033: Every service that can use a customer-managed key uses one from the stack's vault."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block, refs

TYPES = (
    "azurerm_storage_account",
    "azurerm_container_registry",
    "azurerm_machine_learning_workspace",
    "azurerm_kubernetes_cluster",
    "azurerm_disk_encryption_set",
)


@rule(
    id="MLOPS_AZ_033",
    name="Every service that can use a customer-managed key uses one from the stack's vault",
    severity="high",
    category="baseline",
    applies_to=TYPES,
)
def check(d: Doc):
    keys = {a for a, _ in d.of("azurerm_key_vault_key")}
    sets = {a for a, b in d.of("azurerm_disk_encryption_set") if refs(b.get("key_vault_key_id")) & keys}

    def problems(addr: str, b: dict) -> list[str]:
        kind = addr.split(".")[0]
        if kind == "azurerm_storage_account":
            cmk = [
                k
                for _, k in d.referencing("azurerm_storage_account_customer_managed_key", addr, "storage_account_id")
                if refs(k.get("key_vault_key_id")) & keys
            ] or refs(block(b, "customer_managed_key").get("key_vault_key_id")) & keys
            out = [] if cmk else ["no customer-managed key"]
            # queues and tables are covered by the account's key only with the Account key type
            out += [
                f"{s}_encryption_key_type is not Account"
                for s in ("queue", "table")
                if b.get(f"{s}_encryption_key_type") != "Account"
            ]
            return out
        if kind == "azurerm_container_registry":
            return [] if refs(block(b, "encryption").get("key_vault_key_id")) & keys else ["no encryption key"]
        if kind == "azurerm_machine_learning_workspace":
            return [] if refs(block(b, "encryption").get("key_id")) & keys else ["no encryption key"]
        if kind == "azurerm_kubernetes_cluster":
            return [] if refs(b.get("disk_encryption_set_id")) & sets else ["node disks use platform-managed keys"]
        return [] if addr in sets else ["the disk encryption set uses no key from this stack's vault"]

    for addr, b in d.of(*TYPES):
        p = problems(addr, b)
        yield addr, not p, "; ".join(p)
