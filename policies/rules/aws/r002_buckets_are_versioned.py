"""MLOPS_AWS_002: S3 buckets keep object versions."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AWS_002",
    name="S3 buckets keep object versions",
    severity="medium",
    category="data_lake",
    applies_to=("aws_s3_bucket",),
)
def check(d: Doc):
    for addr, _ in d.of("aws_s3_bucket"):
        v = d.referencing("aws_s3_bucket_versioning", addr, "bucket")
        ok = any(b.get("versioning_configuration", {}).get("status") == "Enabled" for _, b in v)
        yield addr, ok, "" if ok else "versioning is not Enabled"
