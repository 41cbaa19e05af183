"""Azure: the cloud package. Everything Azure-specific is reached through `CLOUD`.

Its parts: the catalog (`catalog.py`), physical names (`names.py`), the stack with the azurerm and
azapi providers and the azurerm backend (`stack.py`), the constructs (`modules/<component>/azure.py`),
the policy rules (`policies/rules/azure/`) and the glue (`scripts/glue/azure.py`: state bootstrap,
verify, rollout through azure-ai-ml). There is no embedded emulator for Azure (Azurite, the storage
emulator, serves the state bootstrap's tests). Importing this package loads no bindings.
"""

from __future__ import annotations

from mlops_blueprint.blueprints.registry import Cloud
from mlops_blueprint.stacks.azure.catalog import CATALOG
from mlops_blueprint.stacks.azure.names import AzureNames, name_checks

ENVIRONMENT_TAG = "mlops-environment"


def environment_of(doc: dict) -> str:
    """The blueprint environment of a synthesized stack: its resource group's tag (azurerm has no default tags)."""
    for rg in doc.get("resource", {}).get("azurerm_resource_group", {}).values():
        env = (rg.get("tags") or {}).get(ENVIRONMENT_TAG)
        if env:
            return str(env)
    return ""


CLOUD = Cloud(
    name="azure",
    title="Azure",
    catalog=CATALOG,
    names=AzureNames,
    name_checks=name_checks,
    target_fields={
        "subscription_id": "the Azure subscription the stacks deploy into (a GUID)",
        "runner_network": "the virtual network the deploying runner runs in (peered, private DNS linked)",
        "admin_group_object_ids": "Entra ID groups that are AKS cluster admins",
    },
    required_target_fields=("subscription_id",),
    stateful_types={
        "azurerm_storage_account": "lake, workspace or state storage account",
        "azurerm_storage_data_lake_gen2_filesystem": "lake zone",
        "azurerm_storage_container": "blob container",
        "azurerm_key_vault": "key vault",
        "azurerm_key_vault_key": "encryption key",
        "azurerm_container_registry": "image registry",
        "azurerm_machine_learning_workspace": "model registry workspace",
        "azurerm_purview_account": "data catalog",
        "azurerm_log_analytics_workspace": "audit log workspace",
    },
    provider_keys=("azurerm",),
    environment_of=environment_of,
    rules_package="mlops_blueprint.policies.rules.azure",
    stack="mlops_blueprint.stacks.azure.stack:AzureEnvironmentStack",
    cluster_stack="mlops_blueprint.stacks.azure.cluster:AzureClusterStack",
    glue="mlops_blueprint.scripts.glue.azure:GLUE",
    no_emulator_hint="synth and check run offline; verify and rollout need the cloud",
)
