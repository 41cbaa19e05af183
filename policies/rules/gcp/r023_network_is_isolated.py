"""MLOPS_GCP_023: The network has no internet route and reaches Google APIs privately."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_GCP_023",
    name="The network has no internet route and reaches Google APIs privately",
    severity="high",
    category="baseline",
    applies_to=("google_compute_network", "google_compute_subnetwork", "google_compute_route"),
)
def check(d: Doc):
    open_routes = [
        a for a, r in d.of("google_compute_route") if r.get("dest_range") == "0.0.0.0/0" and r.get("next_hop_gateway")
    ]
    for addr, b in d.of("google_compute_network"):
        ok = (
            b.get("delete_default_routes_on_create") is True
            and b.get("auto_create_subnetworks") is False
            and not open_routes
        )
        yield addr, ok, "" if ok else "default internet routes or auto subnets: workloads could reach the internet"
    for addr, b in d.of("google_compute_subnetwork"):
        ok = b.get("private_ip_google_access") is True
        yield addr, ok, "" if ok else "private_ip_google_access is off: Google APIs would need public IPs"
