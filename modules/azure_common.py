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
