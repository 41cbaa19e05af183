"""MLOPS_AWS_005: S3 buckets refuse requests that are not over TLS."""

import json

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_AWS_005",
    name="S3 buckets refuse requests that are not over TLS",
    severity="high",
    category="data_lake",
    applies_to=("aws_s3_bucket",),
)
def check(d: Doc):
    for addr, _ in d.of("aws_s3_bucket"):
        ok = False
        for _, b in d.referencing("aws_s3_bucket_policy", addr, "bucket"):
            doc = json.loads(b["policy"]) if isinstance(b.get("policy"), str) else {}
            ok |= any(
                s.get("Effect") == "Deny"
                and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
                for s in as_list(doc.get("Statement"))
            )
        yield addr, ok, "" if ok else "no bucket policy denying aws:SecureTransport=false"
