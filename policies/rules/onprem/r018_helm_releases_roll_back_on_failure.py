"""MLOPS_K8S_018: Helm releases are atomic: a failed install or upgrade rolls back."""

from mlops_blueprint.policies.checks import value_rule

value_rule(
    id="MLOPS_K8S_018",
    name="Helm releases roll back a failed install or upgrade",
    severity="low",
    category="baseline",
    resource_type="helm_release",
    path=("atomic",),
    expected=True,
    message="atomic is not true: a failed upgrade leaves the release half-applied",
)
