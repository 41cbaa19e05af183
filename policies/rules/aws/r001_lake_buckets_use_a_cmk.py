"""MLOPS_AWS_001: S3 buckets are encrypted with a customer-managed KMS key."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list, refs


@rule(
    id="MLOPS_AWS_001",
    name="S3 buckets are encrypted with a customer-managed KMS key",
    severity="high",
    category="data_lake",
    applies_to=("aws_s3_bucket",),
)
def check(d: Doc):
    keys = {k for k, _ in d.of("aws_kms_key")}
    for addr, _ in d.of("aws_s3_bucket"):
        sse = d.referencing("aws_s3_bucket_server_side_encryption_configuration", addr, "bucket")
        ok = any(
            r.get("apply_server_side_encryption_by_default", {}).get("sse_algorithm") == "aws:kms"
            and refs(r.get("apply_server_side_encryption_by_default", {}).get("kms_master_key_id")) & keys
            for _, body in sse
            for r in as_list(body.get("rule"))
        )
        yield addr, ok, "" if ok else "no SSE-KMS configuration with a key from this stack"
