"""MLOPS_GCP_012: Accelerator node pools autoscale with a bounded maximum."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block

MAX_NODES = 64  # beyond this, a pool needs a reviewed quota, not a blueprint default


@rule(
    id="MLOPS_GCP_012",
    name="Accelerator node pools autoscale with a bounded maximum",
    severity="high",
    category="training",
    applies_to=("google_container_node_pool",),
)
def check(d: Doc):
    for addr, b in d.of("google_container_node_pool"):
        mx = block(b, "autoscaling").get("total_max_node_count")
        ok = isinstance(mx, int) and 1 <= mx <= MAX_NODES
        yield (
            addr,
            ok,
            "" if ok else f"total_max_node_count {mx}: autoscaling needs a maximum between 1 and {MAX_NODES}",
        )
