"""MLOPS_AWS_003: S3 buckets block every form of public access."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AWS_003",
    name="S3 buckets block every form of public access",
    severity="critical",
    category="data_lake",
    applies_to=("aws_s3_bucket",),
)
def check(d: Doc):
    keys = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    for addr, _ in d.of("aws_s3_bucket"):
        pab = d.referencing("aws_s3_bucket_public_access_block", addr, "bucket")
        ok = any(all(b.get(k) is True for k in keys) for _, b in pab)
        yield addr, ok, "" if ok else "no public access block with all four settings on"
