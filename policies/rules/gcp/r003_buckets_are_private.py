"""MLOPS_GCP_003: GCS buckets enforce uniform access and public access prevention."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_GCP_003",
    name="GCS buckets enforce uniform access and public access prevention",
    severity="critical",
    category="data_lake",
    applies_to=("google_storage_bucket",),
)
def check(d: Doc):
    for addr, b in d.of("google_storage_bucket"):
        ok = b.get("uniform_bucket_level_access") is True and b.get("public_access_prevention") == "enforced"
        yield addr, ok, "" if ok else "needs uniform_bucket_level_access = true and public_access_prevention = enforced"
