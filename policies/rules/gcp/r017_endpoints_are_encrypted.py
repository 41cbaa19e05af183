"""MLOPS_GCP_017: Vertex AI endpoints are encrypted with a customer-managed key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block, refs


@rule(
    id="MLOPS_GCP_017",
    name="Vertex AI endpoints are encrypted with a customer-managed key",
    severity="high",
    category="serving",
    applies_to=("google_vertex_ai_endpoint", "google_kms_crypto_key"),
)
def check(d: Doc):
    keys = {k for k, _ in d.of("google_kms_crypto_key")}
    for addr, b in d.of("google_vertex_ai_endpoint"):
        ok = bool(refs(block(b, "encryption_spec").get("kms_key_name")) & keys)
        yield addr, ok, "" if ok else "no encryption_spec with a key from this stack"
