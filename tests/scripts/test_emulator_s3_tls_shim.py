"""The `s3-bucket-policy-over-tls` shim, through boto3 against a real emulator process: the platform's
buckets refuse requests without TLS (modules/aws_common.py `deny_insecure_transport`); the emulator speaks
plain HTTP, so without the shim moto answered every object request to such a bucket with 403 (and the
stack's upload of the bootstrap model.tar.gz failed). A Deny whose condition holds still denies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from mlops_blueprint.modules.aws_common import deny_insecure_transport, document


def policy_bucket(aws, name: str, *statements: dict):
    s3 = aws("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3.put_bucket_policy(Bucket=name, Policy=document(*statements))
    return s3


def test_a_tls_only_bucket_takes_objects_from_the_emulators_clients(aws):
    bucket = "tls-only-bucket"
    s3 = policy_bucket(aws, bucket, deny_insecure_transport(f"arn:aws:s3:::{bucket}"))
    kms = aws("kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_object(
        Bucket=bucket, Key="m/bootstrap/model.tar.gz", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=kms
    )
    assert s3.head_object(Bucket=bucket, Key="m/bootstrap/model.tar.gz")["ContentLength"] == 1
    assert s3.get_object(Bucket=bucket, Key="m/bootstrap/model.tar.gz")["Body"].read() == b"x"
    s3.delete_object(Bucket=bucket, Key="m/bootstrap/model.tar.gz")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


@pytest.mark.parametrize(
    "condition",
    [
        None,  # an unconditional Deny
        {"Bool": {"aws:SecureTransport": "true"}},  # a Deny whose condition holds for the emulator's requests
    ],
)
def test_a_deny_that_applies_still_denies(aws, condition):
    bucket = f"deny-bucket-{'plain' if condition is None else 'tls'}"
    deny = {
        "Sid": "DenyWrites",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["s3:PutObject"],
        "Resource": [f"arn:aws:s3:::{bucket}/*"],
        **({"Condition": condition} if condition else {}),
    }
    s3 = policy_bucket(aws, bucket, deny)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]["Sid"] == "DenyWrites"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
