"""Unit tests of modules/aws_common.py `secure_bucket_parts`: the hardening every platform bucket gets,
asserted on the synthesized resources of a bare stack (AWS provider made by the test), and the one
combination S3 refuses (Object Lock with versioning suspended), refused before anything is made."""

from __future__ import annotations

import json

import pytest
from cdktn import TerraformStack
from cdktn import Testing as CdkTesting
from cdktn_provider_aws.provider import AwsProvider

from mlops_blueprint.modules.aws_common import secure_bucket_parts

KEY = "arn:aws:kms:eu-central-1:111122223333:key/test"


def stack(name: str) -> TerraformStack:
    s = TerraformStack(CdkTesting.app(), name)
    AwsProvider(s, "aws", region="eu-central-1")
    return s


def synth(s: TerraformStack) -> dict:
    return json.loads(CdkTesting.synth(s))["resource"]


def test_object_lock_with_versioning_off_is_refused_before_any_resource():
    s = stack("lock-no-versioning")
    before = len(s.node.children)
    with pytest.raises(ValueError) as err:
        secure_bucket_parts(
            s,
            "audit",
            part_prefix="audit-",
            name="acme-audit",
            kms_key_arn=KEY,
            protected=True,
            versioning=False,
            object_lock=True,
        )
    message = str(err.value)
    assert "'audit'" in message
    assert "object_lock=True needs versioning=True (got versioning=False)" in message
    assert len(s.node.children) == before, "nothing of the refused bucket may be left in the scope"


def test_object_lock_with_versioning_on_makes_a_locked_versioned_protected_bucket():
    s = stack("lock-versioning")
    secure_bucket_parts(
        s, "audit", part_prefix="audit-", name="acme-audit", kms_key_arn=KEY, protected=True, object_lock=True
    )
    res = synth(s)
    assert res["aws_s3_bucket"]["audit"]["object_lock_enabled"] is True
    assert res["aws_s3_bucket"]["audit"]["force_destroy"] is False
    assert res["aws_s3_bucket"]["audit"]["lifecycle"] == {"prevent_destroy": True}
    assert res["aws_s3_bucket_versioning"]["audit-versioning"]["versioning_configuration"] == {"status": "Enabled"}
    sse = res["aws_s3_bucket_server_side_encryption_configuration"]["audit-encryption"]["rule"][0]
    assert sse["apply_server_side_encryption_by_default"] == {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY}
    assert sse["bucket_key_enabled"] is True
    block = res["aws_s3_bucket_public_access_block"]["audit-public-access"]
    assert [block[k] for k in ("block_public_acls", "block_public_policy", "ignore_public_acls")] == [True] * 3
    assert block["restrict_public_buckets"] is True
    ownership = res["aws_s3_bucket_ownership_controls"]["audit-ownership"]["rule"]
    assert ownership == {"object_ownership": "BucketOwnerEnforced"}


def test_versioning_off_without_object_lock_is_suspended_and_unprotected_can_be_destroyed():
    s = stack("no-lock")
    secure_bucket_parts(s, "b", part_prefix="", name="acme-b", kms_key_arn=KEY, protected=False, versioning=False)
    res = synth(s)
    assert "object_lock_enabled" not in res["aws_s3_bucket"]["b"]
    assert res["aws_s3_bucket"]["b"]["force_destroy"] is True
    assert "prevent_destroy" not in res["aws_s3_bucket"]["b"].get("lifecycle", {})
    assert res["aws_s3_bucket_versioning"]["versioning"]["versioning_configuration"] == {"status": "Suspended"}
