"""MLOPS_AWS_004: S3 buckets expire old versions and aborted uploads."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_AWS_004",
    name="S3 buckets expire old versions and aborted uploads",
    severity="low",
    category="data_lake",
    applies_to=("aws_s3_bucket",),
)
def check(d: Doc):
    for addr, _ in d.of("aws_s3_bucket"):
        lc = d.referencing("aws_s3_bucket_lifecycle_configuration", addr, "bucket")
        ok = any(
            r.get("status") == "Enabled" and r.get("noncurrent_version_expiration")
            for _, b in lc
            for r in as_list(b.get("rule"))
        )
        yield addr, ok, "" if ok else "no enabled lifecycle rule expiring noncurrent versions"
