"""MLOPS_AZ_019: GPU node pools scale to zero outside prod."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.azure import gpu_pools
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AZ_019",
    name="GPU node pools scale to zero outside prod",
    severity="medium",
    category="training",
    applies_to=("azurerm_kubernetes_cluster_node_pool",),
)
def check(d: Doc):
    env = d.environment()
    for addr, b in gpu_pools(d):
        mn = b.get("min_count")
        ok = env == "prod" or mn == 0
        yield addr, ok, "" if ok else f"min_count {mn} in environment {env!r}: idle GPUs cost money"
