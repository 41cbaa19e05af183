"""MLOPS_GCP_009: GKE uses Workload Identity and hides node metadata."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_GCP_009",
    name="GKE uses Workload Identity and hides node metadata",
    severity="high",
    category="training",
    applies_to=("google_container_cluster", "google_container_node_pool"),
)
def check(d: Doc):
    for addr, b in d.of("google_container_cluster"):
        ok = bool(block(b, "workload_identity_config").get("workload_pool"))
        yield (
            addr,
            ok,
            "" if ok else "workload_identity_config.workload_pool is unset: pods would use the node's identity",
        )
    for addr, b in d.of("google_container_node_pool"):
        ok = block(b, "node_config", "workload_metadata_config").get("mode") == "GKE_METADATA"
        yield addr, ok, "" if ok else "node_config.workload_metadata_config.mode must be GKE_METADATA"
