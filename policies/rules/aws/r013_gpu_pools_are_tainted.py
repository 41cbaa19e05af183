"""MLOPS_AWS_013: GPU node groups carry the nvidia.com/gpu NoSchedule taint."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_AWS_013",
    name="GPU node groups carry the nvidia.com/gpu NoSchedule taint",
    severity="medium",
    category="training",
    applies_to=("aws_eks_node_group",),
)
def check(d: Doc):
    for addr, b in d.of("aws_eks_node_group"):
        ok = any(t.get("key") == "nvidia.com/gpu" and t.get("effect") == "NO_SCHEDULE" for t in as_list(b.get("taint")))
        yield addr, ok, "" if ok else "no nvidia.com/gpu NO_SCHEDULE taint: CPU pods would land on GPU nodes"
