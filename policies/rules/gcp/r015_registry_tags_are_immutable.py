"""MLOPS_GCP_015: Artifact Registry tags are immutable.

A remote repository is a cache of its upstream (the cluster's mirror of registry.k8s.io): its tags are
the upstream's, not the platform's to make immutable, so the rule is about the repositories the
platform's teams push to."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_GCP_015",
    name="Artifact Registry tags are immutable",
    severity="high",
    category="registry",
    applies_to=("google_artifact_registry_repository",),
)
def check(d: Doc):
    for addr, b in d.of("google_artifact_registry_repository"):
        if b.get("mode") == "REMOTE_REPOSITORY":
            continue
        ok = block(b, "docker_config").get("immutable_tags") is True
        yield addr, ok, "" if ok else "mutable tags: a deployed image can change under the same tag"
