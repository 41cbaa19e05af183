"""MLOPS_GCP_026: The subnet's traffic is recorded by VPC flow logs."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_GCP_026",
    name="The subnet's traffic is recorded by VPC flow logs",
    severity="medium",
    category="baseline",
    applies_to=("google_compute_subnetwork",),
)
def check(d: Doc):
    for addr, b in d.of("google_compute_subnetwork"):
        log = block(b, "log_config")
        ok = bool(log) and float(log.get("flow_sampling", 0.5)) > 0
        yield addr, ok, "" if ok else "no log_config: the subnet keeps no flow logs"
