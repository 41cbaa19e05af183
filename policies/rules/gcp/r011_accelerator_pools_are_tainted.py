"""MLOPS_GCP_011: Accelerator node pools are tainted so only accelerator jobs land there."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.gcp import system_pool
from mlops_blueprint.policies.tfjson import Doc, as_list, block


@rule(
    id="MLOPS_GCP_011",
    name="Accelerator node pools are tainted so only accelerator jobs land there",
    severity="medium",
    category="training",
    applies_to=("google_container_node_pool",),
)
def check(d: Doc):
    for addr, b in d.of("google_container_node_pool"):
        if system_pool(b):
            continue
        taints = {(t.get("key"), t.get("effect")) for t in as_list(block(b, "node_config").get("taint"))}
        ok = bool(taints & {("nvidia.com/gpu", "NO_SCHEDULE"), ("google.com/tpu", "NO_SCHEDULE")})
        yield addr, ok, "" if ok else "no nvidia.com/gpu or google.com/tpu NO_SCHEDULE taint"
