"""Pieces every Azure construct uses: role assignments to a principal, protection."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

from cdktn_provider_azurerm.role_assignment import RoleAssignment
from cdktn_provider_azurerm.role_definition import RoleDefinition, RoleDefinitionPermissions
from cdktn_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct

from mlops_blueprint.modules.common import protect

__all__ = ["protect", "assign_role", "custom_role", "Principal"]

# The principal every Azure component grants to: a user-assigned managed identity (a persona, or a
# workload such as the cluster's kubelet). People reach a persona's identity through federation or
# group membership managed outside the blueprint.
Principal: TypeAlias = UserAssignedIdentity


def assign_role(scope: Construct, id: str, *, on: str, principal: Principal, role: str) -> RoleAssignment:
    """One built-in (or custom) role for one managed identity, scoped to one resource id `on`.
    Never a subscription or a resource group: components grant on the resources they own."""
    return RoleAssignment(
        scope,
        id,
        scope=on,
        principal_id=principal.principal_id,
        role_definition_name=role,
        principal_type="ServicePrincipal",
    )


def custom_role(
    scope: Construct, id: str, *, name: str, resource_group_id: str, actions: Iterable[str], description: str
) -> RoleDefinition:
    """A custom role `name` allowing exactly `actions`, defined in and assignable only within the resource
    group `resource_group_id` (assign it with `assign_role`, by name, on the resources it is for)."""
    return RoleDefinition(
        scope,
        id,
        name=name,
        scope=resource_group_id,
        assignable_scopes=[resource_group_id],
        description=description,
        permissions=[RoleDefinitionPermissions(actions=list(actions))],
    )


# The resource provider (namespace) each azurerm resource type is created through, by type prefix (the
# longest matching prefix wins). azurerm 5 registers no resource provider by itself (its
# `resource_provider_registrations` defaults to "none"), and a subscription that never used, say, AKS
# or Azure ML has those unregistered: the stack names exactly these in the provider's
# `resource_providers_to_register` (`register_resource_providers`). A type no prefix covers fails the
# synth: add it here.
PROVIDER_OF_TYPE: dict[str, str] = {
    "azurerm_resource_group": "Microsoft.Resources",
    "azurerm_role_": "Microsoft.Authorization",
    "azurerm_user_assigned_identity": "Microsoft.ManagedIdentity",
    "azurerm_federated_identity_credential": "Microsoft.ManagedIdentity",
    "azurerm_virtual_network": "Microsoft.Network",
    "azurerm_subnet": "Microsoft.Network",
    "azurerm_network_security_": "Microsoft.Network",
    "azurerm_private_dns_zone": "Microsoft.Network",
    "azurerm_private_endpoint": "Microsoft.Network",
    "azurerm_key_vault": "Microsoft.KeyVault",
    "azurerm_storage_": "Microsoft.Storage",
    "azurerm_log_analytics_": "Microsoft.OperationalInsights",
    "azurerm_monitor_": "Microsoft.Insights",
    "azurerm_monitor_workspace": "Microsoft.Monitor",
    "azurerm_monitor_alert_prometheus_rule_group": "Microsoft.AlertsManagement",
    "azurerm_application_insights": "Microsoft.Insights",
    "azurerm_consumption_budget_": "Microsoft.Consumption",
    "azurerm_kubernetes_": "Microsoft.ContainerService",
    "azurerm_disk_encryption_set": "Microsoft.Compute",
    "azurerm_container_registry": "Microsoft.ContainerRegistry",
    "azurerm_machine_learning_": "Microsoft.MachineLearningServices",
    "azurerm_purview_": "Microsoft.Purview",
}
# Namespaces a type needs beyond its own: AKS nodes are Compute scale sets in the node resource group,
# data collection endpoints and rules of managed Prometheus write into Microsoft.Monitor, workbooks are
# Microsoft.Insights, and an Azure ML workspace's managed network makes its own private endpoints.
EXTRA_PROVIDERS: dict[str, tuple[str, ...]] = {
    "azurerm_kubernetes_cluster": ("Microsoft.Compute", "Microsoft.Network", "Microsoft.OperationsManagement"),
    "azurerm_monitor_data_collection_rule": ("Microsoft.Monitor",),
    "azurerm_machine_learning_workspace": ("Microsoft.Network",),
}
NO_PROVIDER = ("azurerm_client_config",)


def providers_of(terraform_type: str, azapi_type: str | None = None) -> tuple[str, ...]:
    """The resource providers an azurerm type (or an azapi resource of ARM type `azapi_type`,
    `Microsoft.X/...@version`) is created through; ValueError for a type the table does not know."""
    if azapi_type is not None:
        return (azapi_type.split("/", 1)[0],)
    if terraform_type in NO_PROVIDER:
        return ()
    matches = [prefix for prefix in PROVIDER_OF_TYPE if terraform_type.startswith(prefix)]
    if not matches:
        raise ValueError(
            f"{terraform_type}: no resource provider is known for this type; add its prefix to "
            "modules/azure_common.PROVIDER_OF_TYPE so that the stack registers it"
        )
    return (PROVIDER_OF_TYPE[max(matches, key=len)], *EXTRA_PROVIDERS.get(terraform_type, ()))


def register_resource_providers(scope: Construct) -> list[str]:
    """The resource providers every azurerm/azapi resource and data source under `scope` is created
    through, sorted (the stack hands them to the provider's `resource_providers_to_register`)."""
    from cdktn import TerraformDataSource, TerraformResource

    found: set[str] = set()
    for node in scope.node.find_all():
        if not isinstance(node, (TerraformResource, TerraformDataSource)):
            continue
        kind = node.terraform_resource_type
        if kind.startswith("azurerm_"):
            found.update(providers_of(kind))
        elif kind in ("azapi_resource", "azapi_update_resource"):
            arm_type = getattr(node, "type_input", None)
            if isinstance(arm_type, str) and "/" in arm_type:
                found.update(providers_of(kind, arm_type))
    return sorted(found)
