"""MLOPS_AZ_034: Role assignments grant no AKS cluster-admin role.

"Azure Kubernetes Service RBAC Cluster Admin" is Kubernetes' cluster-admin through Entra ID, and
"Azure Kubernetes Service Cluster Admin Role" hands out the cluster's admin credentials. Personas get
"Azure Kubernetes Service RBAC Writer" or Reader on their namespace, as MLOPS_K8S_004 asks of bindings
on a cluster of one's own.

One grant is exempt: "Azure Kubernetes Service RBAC Cluster Admin" on the cluster itself to the
deploying principal (`data.azurerm_client_config`'s object id), which applies the cluster stack (CRDs,
webhooks, cluster-scoped Kueue objects) and has no other way in once local accounts are off.
"""

import re

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc

# built-in roles by name and by their fixed definition GUID
ADMIN = {
    "Azure Kubernetes Service RBAC Cluster Admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
    "Azure Kubernetes Service Cluster Admin Role": "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
}


DEPLOYER = re.compile(r"^\$\{data\.azurerm_client_config\.[\w-]+\.object_id\}$")
CLUSTER = re.compile(r"^\$\{azurerm_kubernetes_cluster\.[\w-]+\.id\}$")
DEPLOYER_ROLE = "Azure Kubernetes Service RBAC Cluster Admin"


def deployer_grant(b: dict) -> bool:
    """The deploying principal's cluster admin on the cluster it deploys (modules/training/azure.py)."""
    return (
        b.get("role_definition_name") == DEPLOYER_ROLE
        and bool(DEPLOYER.match(str(b.get("principal_id", ""))))
        and bool(CLUSTER.match(str(b.get("scope", ""))))
    )


@rule(
    id="MLOPS_AZ_034",
    name="Role assignments grant no AKS cluster-admin role",
    severity="critical",
    category="iam",
    applies_to=("azurerm_role_assignment",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_role_assignment"):
        name = b.get("role_definition_name")
        rid = str(b.get("role_definition_id") or "").lower()
        hit = name if name in ADMIN else next((n for n, g in ADMIN.items() if g in rid), None)
        if deployer_grant(b):
            hit = None
        yield (
            addr,
            hit is None,
            "" if hit is None else f"{hit} is cluster-admin: grant RBAC Writer or Reader on a namespace",
        )
