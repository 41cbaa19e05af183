"""MLOPS_GCP_016: Artifact Registry repositories are encrypted with a customer-managed key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, refs


@rule(
    id="MLOPS_GCP_016",
    name="Artifact Registry repositories are encrypted with a customer-managed key",
    severity="high",
    category="registry",
    applies_to=("google_artifact_registry_repository", "google_kms_crypto_key"),
)
def check(d: Doc):
    keys = {k for k, _ in d.of("google_kms_crypto_key")}
    for addr, b in d.of("google_artifact_registry_repository"):
        ok = bool(refs(b.get("kms_key_name")) & keys)
        yield addr, ok, "" if ok else "no kms_key_name from this stack"
