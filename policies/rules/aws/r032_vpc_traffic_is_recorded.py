"""MLOPS_AWS_032: The VPC's traffic is recorded by flow logs."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AWS_032",
    name="The VPC's traffic is recorded by flow logs",
    severity="medium",
    category="baseline",
    applies_to=("aws_vpc",),
)
def check(d: Doc):
    for addr, _ in d.of("aws_vpc"):
        logs = d.referencing("aws_flow_log", addr, "vpc_id")
        ok = any(
            f.get("traffic_type") == "ALL" and (f.get("log_destination") or f.get("log_group_name")) for _, f in logs
        )
        yield addr, ok, "" if ok else "no flow log records ALL traffic of this VPC"
