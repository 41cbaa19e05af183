"""MLOPS_GCP_015: Artifact Registry tags are immutable."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(id="MLOPS_GCP_015", name='Artifact Registry tags are immutable', severity="high", category="registry", cloud="gcp",
      applies_to=('google_artifact_registry_repository',))
def check(d: Doc):
    for addr, b in d.of("google_artifact_registry_repository"):
        ok = block(b, "docker_config").get("immutable_tags") is True
        yield addr, ok, "" if ok else "mutable tags: a deployed image can change under the same tag"
