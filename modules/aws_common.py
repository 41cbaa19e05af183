"""Pieces every AWS construct uses: IAM documents, the secure bucket, protection."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
)
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfigurationRule as LifecycleRule,
)
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload as AbortMultipart,
)
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfigurationRuleExpiration as Expiration,
)
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfigurationRuleFilter as RuleFilter,
)
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration as NoncurrentExpiration,
)
from cdktn_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls
from cdktn_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktn_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA as S3Sse,
)
from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationRuleA as SseRule,
)
from cdktn_provider_aws.s3_bucket_versioning import S3BucketVersioningA as S3Versioning
from constructs import Construct

from mlops_blueprint.modules.common import protect

__all__ = [
    "protect",
    "aws_cron",
    "statement",
    "document",
    "assume_role_policy",
    "service_role",
    "attach",
    "BucketProps",
    "SecureBucket",
]


def aws_cron(expr: str) -> str:
    """A blueprint cron (5 fields, day of week by name) as an AWS schedule expression: AWS wants a
    year field and `?` in exactly one of day-of-month and day-of-week."""
    minute, hour, dom, month, dow = expr.split()
    if dow in ("*", "?"):
        dow = "?"
    else:
        dom = "?"
    return f"cron({minute} {hour} {dom} {month} {dow} *)"


def statement(
    actions: Iterable[str],
    resources: Iterable[str],
    sid: str | None = None,
    effect: str = "Allow",
    condition: dict | None = None,
    principal: dict | None = None,
) -> dict:
    acts = sorted(set(actions))
    for a in acts:
        if effect == "Allow" and (a == "*" or a.endswith(":*")):
            raise ValueError(f"IAM action {a!r} is a wildcard; least privilege needs named actions")
    st: dict = {"Effect": effect, "Action": acts, "Resource": list(resources)}
    if sid:
        st["Sid"] = sid
    if condition:
        st["Condition"] = condition
    if principal:
        st["Principal"] = principal
    return st


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str | None = None, aws: str | None = None) -> str:
    principal = {"Service": service} if service else {"AWS": aws}
    return document({"Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": principal})


def service_role(scope: Construct, id: str, *, name: str, service: str, managed: Iterable[str] = ()) -> IamRole:
    """A role a service assumes, with AWS managed policies attached by ARN suffix (e.g. `AmazonEKSClusterPolicy`)."""
    role = IamRole(scope, id, name=name, assume_role_policy=assume_role_policy(service=service))
    for arn in managed:
        short = arn.rsplit("/", 1)[-1]
        IamRolePolicyAttachment(scope, f"{id}-{short}", role=role.name, policy_arn=arn)
    return role


def attach(scope: Construct, id: str, role: IamRole, *statements: dict) -> IamRolePolicy:
    """An inline policy on `role` named after the construct path, holding `statements`."""
    return IamRolePolicy(scope, id, role=role.id, name=id, policy=document(*statements))


@dataclass(frozen=True)
class BucketProps:
    """A private, CMK-encrypted, TLS-only bucket.

    versioning: omitted, on. expire_days: omitted, objects are kept. force_destroy is
    only ever on when the environment does not protect its stateful resources.
    """

    name: str
    kms_key_arn: str
    protect: bool
    versioning: bool = True
    expire_days: int | None = None
    noncurrent_days: int = 90


class SecureBucket(Construct):
    def __init__(self, scope: Construct, id: str, *, props: BucketProps):
        super().__init__(scope, id)
        p = props
        self.bucket = S3Bucket(self, "bucket", bucket=p.name, force_destroy=not p.protect, lifecycle=protect(p.protect))
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        S3BucketPublicAccessBlock(
            self,
            "public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self, "ownership", bucket=self.bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}
        )
        S3Sse(
            self,
            "encryption",
            bucket=self.bucket.id,
            rule=[
                SseRule(
                    apply_server_side_encryption_by_default={
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": p.kms_key_arn,
                    },
                    bucket_key_enabled=True,
                )
            ],
        )
        S3Versioning(
            self,
            "versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled" if p.versioning else "Suspended"},
        )
        rule = LifecycleRule(
            id="lifecycle",
            status="Enabled",
            filter=[RuleFilter(prefix="")],
            abort_incomplete_multipart_upload=[AbortMultipart(days_after_initiation=7)],
            noncurrent_version_expiration=[NoncurrentExpiration(noncurrent_days=p.noncurrent_days)],
            expiration=[Expiration(days=p.expire_days)] if p.expire_days else None,
        )
        S3BucketLifecycleConfiguration(self, "lifecycle", bucket=self.bucket.id, rule=[rule])
        S3BucketPolicy(
            self,
            "tls-only",
            bucket=self.bucket.id,
            policy=document(
                statement(
                    ["s3:*"],
                    [self.arn, f"{self.arn}/*"],
                    sid="DenyInsecureTransport",
                    effect="Deny",
                    principal={"AWS": "*"},
                    condition={"Bool": {"aws:SecureTransport": "false"}},
                )
            ),
        )

    def read_statements(self, prefix: str = "") -> list[dict]:
        return [
            statement(["s3:ListBucket", "s3:GetBucketLocation"], [self.arn]),
            statement(["s3:GetObject", "s3:GetObjectVersion"], [f"{self.arn}/{prefix}*"]),
        ]

    def write_statements(self, prefix: str = "") -> list[dict]:
        return [statement(["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], [f"{self.arn}/{prefix}*"])]
