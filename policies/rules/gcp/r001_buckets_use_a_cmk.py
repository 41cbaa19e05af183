"""MLOPS_GCP_001: GCS buckets are encrypted with a customer-managed KMS key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block, refs


@rule(
    id="MLOPS_GCP_001",
    name="GCS buckets are encrypted with a customer-managed KMS key",
    severity="high",
    category="data_lake",
    applies_to=("google_storage_bucket",),
)
def check(d: Doc):
    keys = {k for k, _ in d.of("google_kms_crypto_key")}
    for addr, b in d.of("google_storage_bucket"):
        ok = bool(refs(block(b, "encryption").get("default_kms_key_name")) & keys)
        yield addr, ok, "" if ok else "no default_kms_key_name from this stack's keys (Google-managed keys only)"
