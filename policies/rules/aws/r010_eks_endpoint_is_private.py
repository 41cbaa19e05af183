"""MLOPS_AWS_010: The training cluster API is reachable only from inside the network."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AWS_010",
    name="The training cluster API is reachable only from inside the network",
    severity="high",
    category="training",
    applies_to=("aws_eks_cluster",),
)
def check(d: Doc):
    for addr, b in d.of("aws_eks_cluster"):
        vpc = b.get("vpc_config", {})
        ok = vpc.get("endpoint_public_access") is False and vpc.get("endpoint_private_access") is True
        yield addr, ok, "" if ok else "endpoint_public_access must be false and endpoint_private_access true"
