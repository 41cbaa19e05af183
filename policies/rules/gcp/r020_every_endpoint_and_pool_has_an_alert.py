"""MLOPS_GCP_020: Every endpoint and accelerator pool has an alert policy."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.gcp import system_pool
from mlops_blueprint.policies.tfjson import Doc, as_list, block


@rule(
    id="MLOPS_GCP_020",
    name="Every endpoint and accelerator pool has an alert policy",
    severity="medium",
    category="monitoring",
    applies_to=("google_vertex_ai_endpoint", "google_container_node_pool", "google_monitoring_alert_policy"),
)
def check(d: Doc):
    filters = [
        block(c, "condition_threshold").get("filter", "")
        for _, b in d.of("google_monitoring_alert_policy")
        for c in as_list(b.get("conditions"))
    ]
    for addr, b in d.of("google_vertex_ai_endpoint"):
        ok = any(f'endpoint_id = "{b.get("name")}"' in f or "${" + addr + ".name}" in f for f in filters)
        yield addr, ok, "" if ok else "no alert policy watches this endpoint"
    for addr, b in d.of("google_container_node_pool"):
        if system_pool(b):
            continue
        pool = (block(b, "node_config").get("labels") or {}).get("mlops.io/pool")
        ok = pool is not None and any(f'"mlops.io/pool" = "{pool}"' in f for f in filters)
        yield addr, ok, "" if ok else "no alert policy watches this pool"
