"""MLOPS_AZ_020: GPU node pools autoscale with a bounded maximum."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.azure import gpu_pools
from mlops_blueprint.policies.tfjson import Doc

MAX_NODES = 64  # beyond this, a pool needs a reviewed quota, not a blueprint default


@rule(
    id="MLOPS_AZ_020",
    name="GPU node pools autoscale with a bounded maximum",
    severity="high",
    category="training",
    applies_to=("azurerm_kubernetes_cluster_node_pool",),
)
def check(d: Doc):
    for addr, b in gpu_pools(d):
        mx = b.get("max_count")
        ok = b.get("auto_scaling_enabled") is True and isinstance(mx, int) and 1 <= mx <= MAX_NODES
        yield (
            addr,
            ok,
            "" if ok else f"autoscaling off or max_count {mx!r}: autoscale with a maximum between 1 and {MAX_NODES}",
        )
