"""MLOPS_K8S_001: No container runs privileged or reaches into the node (hostPath, host namespaces)."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import MANIFEST, WORKLOAD_TYPES, dotted, walk
from mlops_blueprint.policies.tfjson import Doc

# camelCase (manifests) and snake_case (typed resources) spellings
HOST_FLAGS = {"privileged", "hostNetwork", "hostPID", "hostIPC", "host_network", "host_pid", "host_ipc"}
HOST_PATH = {"hostPath", "host_path"}


@rule(
    id="MLOPS_K8S_001",
    name="No container runs privileged or mounts the node's file system or namespaces",
    severity="critical",
    category="baseline",
    applies_to=(MANIFEST, *WORKLOAD_TYPES),
)
def check(d: Doc):
    for addr, b in d.of(MANIFEST, *WORKLOAD_TYPES):
        obj = b.get("manifest") if addr.startswith(MANIFEST + ".") else b
        bad = [dotted(p) for p, k, v in walk(obj) if (k in HOST_FLAGS and v is True) or (k in HOST_PATH and v)]
        yield addr, not bad, "" if not bad else f"privileged or host access at {', '.join(bad)}"
