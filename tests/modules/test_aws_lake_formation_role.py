"""Lake Formation registers each lake zone with a role of the platform's own, not its service-linked role:
it vends credentials for registered locations as that role, and the zones are encrypted with the
environment's `data` key, which the service-linked role cannot use
(https://docs.aws.amazon.com/lake-formation/latest/dg/register-encrypted.html)."""

from __future__ import annotations

import json

from tests.modules.conftest import one, resources


def test_zones_are_registered_with_a_role_that_can_use_their_key(starter):
    doc = starter["dev"]
    [(role_id, role)] = [
        (k, r) for k, r in resources(doc, "aws_iam_role").items() if r["name"] == "starter-dev-lf-data-access"
    ]
    [trust] = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "lakeformation.amazonaws.com"} and "sts:AssumeRole" in trust["Action"]
    zones = {r["bucket"].removeprefix("starter-dev-"): k for k, r in resources(doc, "aws_s3_bucket").items()}
    registered = resources(doc, "aws_lakeformation_resource").values()
    assert {r["arn"] for r in registered} == {
        "${aws_s3_bucket." + zones[z] + ".arn}" for z in ("raw", "curated", "features")
    }
    assert all(r["role_arn"] == "${aws_iam_role." + role_id + ".arn}" for r in registered)
    assert all(r["use_service_linked_role"] is False for r in registered)

    policy = one(doc, "aws_iam_role_policy", name="lf-data-access", role="${aws_iam_role." + role_id + ".id}")
    statements = json.loads(policy["policy"])["Statement"]
    data_key = [
        k for k, r in resources(doc, "aws_kms_key").items() if r["description"] == "starter-dev data encryption"
    ]
    key_grant = [s for s in statements if s["Resource"] == ["${aws_kms_key." + data_key[0] + ".arn}"]]
    assert key_grant and {"kms:Decrypt", "kms:GenerateDataKey"} <= set(key_grant[0]["Action"])
    written = {r for s in statements if "s3:PutObject" in s["Action"] for r in s["Resource"]}
    assert written == {"${aws_s3_bucket." + zones[z] + ".arn}/*" for z in ("raw", "curated", "features")}
