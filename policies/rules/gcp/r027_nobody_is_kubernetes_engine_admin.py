"""MLOPS_GCP_027: IAM grants no Kubernetes Engine admin role (cluster-admin through IAM).

roles/container.admin and roles/container.clusterAdmin give full control of every cluster in the
project and everything in them: GKE's cluster-admin. Personas get roles/container.clusterViewer and
namespaced Kubernetes RBAC, as MLOPS_K8S_004 asks of bindings on a cluster of one's own.

One grant is exempt: roles/container.admin to the deploying identity itself (the member taken from
`data.google_client_openid_userinfo`), which applies the cluster stack (CRDs, webhooks, cluster-scoped
Kueue objects, Roles and RoleBindings).
"""

import re

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc

IAM_TYPES = (
    "google_project_iam_member",
    "google_project_iam_binding",
    "google_folder_iam_member",
    "google_folder_iam_binding",
    "google_organization_iam_member",
    "google_organization_iam_binding",
)
ADMIN = ("roles/container.admin", "roles/container.clusterAdmin")


# "<serviceAccount|user>:<the deploying identity's e-mail>", as modules/training/gcp.py writes it
DEPLOYER = re.compile(r"^(\$\{.*\}|user|serviceAccount):\$\{data\.google_client_openid_userinfo\.[\w-]+\.email\}$")


@rule(
    id="MLOPS_GCP_027",
    name="IAM grants no Kubernetes Engine admin role",
    severity="critical",
    category="iam",
    applies_to=IAM_TYPES,
)
def check(d: Doc):
    for addr, b in d.of(*IAM_TYPES):
        deployer = b.get("role") == "roles/container.admin" and bool(DEPLOYER.match(str(b.get("member", ""))))
        ok = b.get("role") not in ADMIN or deployer
        yield (
            addr,
            ok,
            "" if ok else f"{b.get('role')} is cluster-admin on every cluster: grant clusterViewer and namespaced RBAC",
        )
