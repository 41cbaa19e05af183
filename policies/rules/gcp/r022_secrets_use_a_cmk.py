"""MLOPS_GCP_022: Secret Manager secrets are encrypted with a customer-managed key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list, block, refs


@rule(
    id="MLOPS_GCP_022",
    name="Secret Manager secrets are encrypted with a customer-managed key",
    severity="medium",
    category="baseline",
    applies_to=("google_secret_manager_secret", "google_kms_crypto_key"),
)
def check(d: Doc):
    keys = {k for k, _ in d.of("google_kms_crypto_key")}
    for addr, b in d.of("google_secret_manager_secret"):
        rep = block(b, "replication")
        kms = [
            block(r, "customer_managed_encryption").get("kms_key_name")
            for r in as_list(block(rep, "user_managed").get("replicas"))
        ]
        kms.append(block(rep, "auto", "customer_managed_encryption").get("kms_key_name"))
        ok = any(refs(k) & keys for k in kms if k)
        yield addr, ok, "" if ok else "replicas are not encrypted with a key from this stack"
