"""MLOPS_GCP_004: GCS buckets expire noncurrent versions."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list, block


@rule(
    id="MLOPS_GCP_004",
    name="GCS buckets expire noncurrent versions",
    severity="medium",
    category="data_lake",
    applies_to=("google_storage_bucket",),
)
def check(d: Doc):
    for addr, b in d.of("google_storage_bucket"):
        ok = any(
            block(r, "action").get("type") == "Delete" and "days_since_noncurrent_time" in block(r, "condition")
            for r in as_list(b.get("lifecycle_rule"))
        )
        yield addr, ok, "" if ok else "no lifecycle rule deletes noncurrent versions: storage grows forever"
