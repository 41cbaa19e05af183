"""Pieces every Azure construct uses: role assignments to a principal, protection."""

from __future__ import annotations

from typing import TypeAlias

from cdktn_provider_azurerm.role_assignment import RoleAssignment
from cdktn_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct

from mlops_blueprint.modules.common import protect

__all__ = ["protect", "assign_role", "Principal"]

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
