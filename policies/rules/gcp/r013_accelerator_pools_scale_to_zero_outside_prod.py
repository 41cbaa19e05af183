"""MLOPS_GCP_013: Accelerator node pools scale to zero outside prod."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.gcp import system_pool
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_GCP_013",
    name="Accelerator node pools scale to zero outside prod",
    severity="medium",
    category="training",
    applies_to=("google_container_node_pool",),
)
def check(d: Doc):
    env = d.environment()
    for addr, b in d.of("google_container_node_pool"):
        if system_pool(b):
            continue
        mn = block(b, "autoscaling").get("total_min_node_count")
        ok = env == "prod" or mn == 0
        yield addr, ok, "" if ok else f"total_min_node_count {mn} in environment {env!r}: idle accelerators cost money"
