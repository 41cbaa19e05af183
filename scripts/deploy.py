"""synth -> state bootstrap -> terraform init/plan/apply (or destroy), one environment at a time.

This module reports through a `Reporter` (the CLI renders it with rich); it never exits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.blueprints.naming import Naming
from mlops_blueprint.scripts.terraform import PlanSummary, Terraform

Reporter = Callable[[str], None]


@dataclass
class Target:
    """Where terraform runs: the emulator (local) or the ambient AWS credentials."""

    local: bool
    mirror: Path | None
    env: dict[str, str] = field(default_factory=dict)
    endpoint: str | None = None


def state_names(env: ResolvedEnv) -> tuple[str, str]:
    bp = env.blueprint
    n = Naming(bp.metadata.name, env.name)
    return n.state_bucket(bp.state.bucket), n.lock_table(bp.state.lock_table)


def boto_session(target: Target, region: str):
    import boto3

    if target.local:
        return boto3.session.Session(aws_access_key_id=target.env["AWS_ACCESS_KEY_ID"],
                                     aws_secret_access_key=target.env["AWS_SECRET_ACCESS_KEY"], region_name=region)
    return boto3.session.Session(region_name=region)


def client(target: Target, service: str, region: str):
    return boto_session(target, region).client(service, endpoint_url=target.endpoint)


def bootstrap_state(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    """Create the state bucket (versioned, encrypted, private) and the lock table if they are missing."""
    from botocore.exceptions import ClientError

    region = env.blueprint.target.region
    bucket, table = state_names(env)
    s3 = client(target, "s3", region)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        report(f"creating state bucket {bucket}")
        kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **kwargs)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    ddb = client(target, "dynamodb", region)
    try:
        ddb.describe_table(TableName=table)
    except ClientError:
        report(f"creating lock table {table}")
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                         DeletionProtectionEnabled=env.settings.protect_stateful and not target.local)


def delete_state(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    """Remove the state bucket (every version) and the lock table: only after a complete destroy."""
    from botocore.exceptions import ClientError

    region = env.blueprint.target.region
    bucket, table = state_names(env)
    s3 = client(target, "s3", region)
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket):
            objs = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if objs:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objs})
        s3.delete_bucket(Bucket=bucket)
        report(f"deleted state bucket {bucket}")
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NoSuchBucket", "404"):
            raise
    try:
        client(target, "dynamodb", region).delete_table(TableName=table)
        report(f"deleted lock table {table}")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def terraform_for(stack_dir: Path, stack: str, target: Target, region: str, on_line: Reporter | None = None) -> Terraform:
    env = dict(target.env)
    env.setdefault("AWS_REGION", region)
    return Terraform(stack_dir, stack=stack, env=env, mirror=target.mirror, on_line=on_line)


def bootstrap_gcs_state(env: ResolvedEnv, storage_client, report: Reporter) -> None:
    """Create the GCS state bucket (versioned, uniform access, public access prevented) if it is missing.
    `storage_client`: a google.cloud.storage.Client for the target project."""
    from google.api_core.exceptions import NotFound

    n = Naming(env.blueprint.metadata.name, env.name)
    name = n.state_bucket(env.blueprint.state.bucket, "gcp")
    try:
        storage_client.get_bucket(name)
        return
    except NotFound:
        pass
    report(f"creating state bucket gs://{name}")
    bucket = storage_client.bucket(name)
    bucket.versioning_enabled = True
    bucket.iam_configuration.uniform_bucket_level_access_enabled = True
    bucket.iam_configuration.public_access_prevention = "enforced"
    storage_client.create_bucket(bucket, location=env.blueprint.target.region)


def plan_env(stack_dir: Path, stack: str, env: ResolvedEnv, target: Target, report: Reporter,
             on_line: Reporter | None = None, destroy: bool = False) -> tuple[Terraform, PlanSummary]:
    backend = env.blueprint.state.backend_for(env.blueprint.target.cloud)
    if backend == "s3":
        bootstrap_state(env, target, report)
    elif backend == "gcs":
        from google.cloud import storage

        bootstrap_gcs_state(env, storage.Client(project=env.blueprint.target.project_id), report)
    tf = terraform_for(stack_dir, stack, target, env.blueprint.target.region, on_line)
    report("terraform init")
    tf.init()
    report("terraform plan" + (" -destroy" if destroy else ""))
    return tf, tf.plan(destroy=destroy)
