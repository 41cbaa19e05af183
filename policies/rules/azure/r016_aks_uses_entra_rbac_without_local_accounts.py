"""MLOPS_AZ_016: AKS authenticates through Entra ID with Azure RBAC, local accounts off."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_AZ_016",
    name="AKS authenticates through Entra ID with Azure RBAC, local accounts off",
    severity="high",
    category="training",
    applies_to=("azurerm_kubernetes_cluster",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_kubernetes_cluster"):
        problems = []
        if b.get("local_account_disabled") is not True:
            problems.append("local_account_disabled is not true (the cluster-admin certificate works)")
        if block(b, "azure_active_directory_role_based_access_control").get("azure_rbac_enabled") is not True:
            problems.append("Azure RBAC for Kubernetes authorization is off")
        if b.get("role_based_access_control_enabled") is False:
            problems.append("Kubernetes RBAC is off")
        yield addr, not problems, "; ".join(problems)
