"""MLOPS_AZ_018: GPU node pools are tainted so only GPU jobs land there."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.azure import GPU_TAINT_KEY, gpu_pools
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_AZ_018",
    name="GPU node pools are tainted so only GPU jobs land there",
    severity="medium",
    category="training",
    applies_to=("azurerm_kubernetes_cluster_node_pool",),
)
def check(d: Doc):
    for addr, b in gpu_pools(d):
        taints = [str(t) for t in as_list(b.get("node_taints"))]
        ok = any(t.startswith(GPU_TAINT_KEY) and t.endswith(":NoSchedule") for t in taints)
        yield addr, ok, "" if ok else f"no {GPU_TAINT_KEY}=...:NoSchedule taint: any pod may land on GPU nodes"
