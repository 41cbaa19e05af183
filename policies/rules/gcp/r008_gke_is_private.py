"""MLOPS_GCP_008: GKE clusters have private nodes, a private endpoint and authorized networks."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list, block


@rule(
    id="MLOPS_GCP_008",
    name="GKE clusters have private nodes, a private endpoint and authorized networks",
    severity="critical",
    category="training",
    applies_to=("google_container_cluster",),
)
def check(d: Doc):
    for addr, b in d.of("google_container_cluster"):
        pc = block(b, "private_cluster_config")
        nets = as_list(block(b, "master_authorized_networks_config").get("cidr_blocks"))
        ok = pc.get("enable_private_nodes") is True and pc.get("enable_private_endpoint") is True and bool(nets)
        yield (
            addr,
            ok,
            "" if ok else "needs private nodes, a private control-plane endpoint and master authorized networks",
        )
