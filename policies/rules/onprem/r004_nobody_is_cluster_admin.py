"""MLOPS_K8S_004: Nothing the platform creates binds cluster-admin or the system:masters group."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import BINDING_TYPES, MANIFEST, manifests
from mlops_blueprint.policies.tfjson import Doc, as_list, block

SUPER_ROLES = {"cluster-admin"}
SUPER_GROUPS = {"system:masters"}


def problem(role: str, subjects: list) -> str:
    if role in SUPER_ROLES:
        return f"binds {role}: grant a namespaced Role with named verbs instead"
    if SUPER_GROUPS & {str(s.get("name")) for s in subjects if isinstance(s, dict)}:
        return "binds the system:masters group, which bypasses RBAC"
    return ""


@rule(
    id="MLOPS_K8S_004",
    name="Nobody is bound to cluster-admin",
    severity="critical",
    category="iam",
    applies_to=(*BINDING_TYPES, MANIFEST),
)
def check(d: Doc):
    for addr, b in d.of(*BINDING_TYPES):
        msg = problem(str(block(b, "role_ref").get("name", "")), as_list(b.get("subject")))
        yield addr, not msg, msg
    for addr, obj in manifests(d, "RoleBinding", "ClusterRoleBinding"):
        msg = problem(str((obj.get("roleRef") or {}).get("name", "")), as_list(obj.get("subjects")))
        yield addr, not msg, msg
