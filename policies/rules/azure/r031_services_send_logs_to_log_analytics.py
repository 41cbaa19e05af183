"""MLOPS_AZ_031: Key vaults, storage, registries, workspaces and clusters send their logs to a workspace."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list, refs

LOGGED = (
    "azurerm_key_vault",
    "azurerm_storage_account",
    "azurerm_container_registry",
    "azurerm_machine_learning_workspace",
    "azurerm_kubernetes_cluster",
)


@rule(
    id="MLOPS_AZ_031",
    name="Key vaults, storage, registries, workspaces and clusters send their logs to a workspace",
    severity="medium",
    category="monitoring",
    applies_to=LOGGED,
)
def check(d: Doc):
    # a setting on a storage account's blob service (`<account id>/blobServices/default`) counts for the account
    logged = set()
    for _, s in d.of("azurerm_monitor_diagnostic_setting"):
        dest = (
            s.get("log_analytics_workspace_id")
            or s.get("storage_account_id")
            or s.get("eventhub_authorization_rule_id")
        )
        if dest and as_list(s.get("enabled_log")):
            logged |= refs(s.get("target_resource_id"))
    for addr, _ in d.of(*LOGGED):
        ok = addr in logged
        yield addr, ok, "" if ok else "no diagnostic setting sends this resource's logs anywhere"
