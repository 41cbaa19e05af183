"""MLOPS_GCP_024: BigQuery datasets are encrypted with a customer-managed key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block, refs


@rule(
    id="MLOPS_GCP_024",
    name="BigQuery datasets are encrypted with a customer-managed key",
    severity="high",
    category="catalog",
    applies_to=("google_bigquery_dataset", "google_kms_crypto_key"),
)
def check(d: Doc):
    keys = {k for k, _ in d.of("google_kms_crypto_key")}
    for addr, b in d.of("google_bigquery_dataset"):
        ok = bool(refs(block(b, "default_encryption_configuration").get("kms_key_name")) & keys)
        yield addr, ok, "" if ok else "no default_encryption_configuration with a key from this stack"
