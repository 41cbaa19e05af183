"""MLOPS_GCP_014: GKE nodes run as a dedicated service account, not the default compute one."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block, refs


@rule(
    id="MLOPS_GCP_014",
    name="GKE nodes run as a dedicated service account, not the default compute one",
    severity="high",
    category="iam",
    applies_to=("google_container_node_pool", "google_service_account"),
)
def check(d: Doc):
    accounts = {k for k, _ in d.of("google_service_account")}
    for addr, b in d.of("google_container_node_pool"):
        ok = bool(refs(block(b, "node_config").get("service_account")) & accounts)
        yield (
            addr,
            ok,
            ""
            if ok
            else "node_config.service_account is not a service account of this stack (default compute SA is Editor)",
        )
