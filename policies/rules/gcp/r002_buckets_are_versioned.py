"""MLOPS_GCP_002: GCS buckets keep object versions."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(id="MLOPS_GCP_002", name='GCS buckets keep object versions', severity="medium", category="data_lake", cloud="gcp",
      applies_to=('google_storage_bucket',))
def check(d: Doc):
    for addr, b in d.of("google_storage_bucket"):
        ok = block(b, "versioning").get("enabled") is True
        yield addr, ok, "" if ok else "versioning is off: an overwrite or delete loses data"
