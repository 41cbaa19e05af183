"""MLOPS_AWS_014: GPU node groups cap their size at 64 nodes or fewer."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AWS_014",
    name="GPU node groups cap their size at 64 nodes or fewer",
    severity="high",
    category="training",
    applies_to=("aws_eks_node_group",),
)
def check(d: Doc):
    for addr, b in d.of("aws_eks_node_group"):
        mx = b.get("scaling_config", {}).get("max_size")
        ok = isinstance(mx, int) and mx <= 64
        yield addr, ok, "" if ok else f"max_size {mx} is above 64"
