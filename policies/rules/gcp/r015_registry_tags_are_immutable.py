"""MLOPS_GCP_015: Artifact Registry tags are immutable."""

from mlops_blueprint.policies.checks import value_rule

value_rule(
    id="MLOPS_GCP_015",
    name="Artifact Registry tags are immutable",
    severity="high",
    category="registry",
    resource_type="google_artifact_registry_repository",
    path=("docker_config", "immutable_tags"),
    expected=True,
    message="mutable tags: a deployed image can change under the same tag",
)
