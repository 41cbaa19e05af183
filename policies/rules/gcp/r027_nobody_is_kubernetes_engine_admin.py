"""MLOPS_GCP_027: IAM grants no Kubernetes Engine admin role (cluster-admin through IAM).

roles/container.admin and roles/container.clusterAdmin give full control of every cluster in the
project and everything in them: GKE's cluster-admin. Personas get roles/container.clusterViewer and
namespaced Kubernetes RBAC, as MLOPS_K8S_004 asks of bindings on a cluster of one's own.
"""

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


@rule(
    id="MLOPS_GCP_027",
    name="IAM grants no Kubernetes Engine admin role",
    severity="critical",
    category="iam",
    applies_to=IAM_TYPES,
)
def check(d: Doc):
    for addr, b in d.of(*IAM_TYPES):
        ok = b.get("role") not in ADMIN
        yield (
            addr,
            ok,
            "" if ok else f"{b.get('role')} is cluster-admin on every cluster: grant clusterViewer and namespaced RBAC",
        )
