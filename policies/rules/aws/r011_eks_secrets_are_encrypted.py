"""MLOPS_AWS_011: The training cluster encrypts Kubernetes secrets with a KMS key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_AWS_011",
    name="The training cluster encrypts Kubernetes secrets with a KMS key",
    severity="high",
    category="training",
    applies_to=("aws_eks_cluster",),
)
def check(d: Doc):
    for addr, b in d.of("aws_eks_cluster"):
        ok = any(
            "secrets" in e.get("resources", []) and e.get("provider", {}).get("key_arn")
            for e in as_list(b.get("encryption_config"))
        )
        yield addr, ok, "" if ok else "no encryption_config for secrets"
