"""MLOPS_AZ_032: Storage, vaults, registries, workspaces and Purview are reached through private endpoints."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list, block, refs

# resource type -> the private link sub-resources it needs
NEEDS = {
    "azurerm_key_vault": ("vault",),
    "azurerm_container_registry": ("registry",),
    "azurerm_machine_learning_workspace": ("amlworkspace",),
    "azurerm_purview_account": ("account",),
    "azurerm_storage_account": ("blob",),
}


@rule(
    id="MLOPS_AZ_032",
    name="Storage, vaults, registries, workspaces and Purview are reached through private endpoints",
    severity="high",
    category="baseline",
    applies_to=tuple(NEEDS),
)
def check(d: Doc):
    linked: dict[str, set[str]] = {}
    for _, pe in d.of("azurerm_private_endpoint"):
        conn = block(pe, "private_service_connection")
        for target in refs(conn.get("private_connection_resource_id")):
            linked.setdefault(target, set()).update(as_list(conn.get("subresource_names")))
    for addr, b in d.of(*NEEDS):
        need = set(NEEDS[addr.split(".")[0]])
        if addr.startswith("azurerm_storage_account.") and b.get("is_hns_enabled") is True:
            need.add("dfs")  # ADLS Gen2 clients talk to the dfs endpoint
        missing = sorted(need - linked.get(addr, set()))
        yield addr, not missing, "" if not missing else f"no private endpoint for {', '.join(missing)}"
