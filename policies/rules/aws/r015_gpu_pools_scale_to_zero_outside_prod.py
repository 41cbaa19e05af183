"""MLOPS_AWS_015: GPU node groups scale to zero outside prod."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AWS_015",
    name="GPU node groups scale to zero outside prod",
    severity="medium",
    category="training",
    applies_to=("aws_eks_node_group",),
)
def check(d: Doc):
    env = d.environment()
    for addr, b in d.of("aws_eks_node_group"):
        mn = b.get("scaling_config", {}).get("min_size")
        ok = env == "prod" or mn == 0
        yield addr, ok, "" if ok else f"min_size {mn} in environment {env!r}: idle GPUs cost money"
