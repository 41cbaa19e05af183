"""MLOPS_AWS_012: The training cluster writes API and audit logs."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AWS_012",
    name="The training cluster writes API and audit logs",
    severity="medium",
    category="training",
    applies_to=("aws_eks_cluster",),
)
def check(d: Doc):
    for addr, b in d.of("aws_eks_cluster"):
        logs = set(b.get("enabled_cluster_log_types") or [])
        ok = {"api", "audit"} <= logs
        yield addr, ok, "" if ok else f"log types {sorted(logs)} lack api/audit"
