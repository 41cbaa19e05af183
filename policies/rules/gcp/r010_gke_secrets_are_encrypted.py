"""MLOPS_GCP_010: GKE encrypts Kubernetes secrets with a customer-managed key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block, refs


@rule(
    id="MLOPS_GCP_010",
    name="GKE encrypts Kubernetes secrets with a customer-managed key",
    severity="high",
    category="training",
    applies_to=("google_container_cluster", "google_kms_crypto_key"),
)
def check(d: Doc):
    keys = {k for k, _ in d.of("google_kms_crypto_key")}
    for addr, b in d.of("google_container_cluster"):
        de = block(b, "database_encryption")
        ok = de.get("state") == "ENCRYPTED" and bool(refs(de.get("key_name")) & keys)
        yield addr, ok, "" if ok else "database_encryption is not ENCRYPTED with a key from this stack"
