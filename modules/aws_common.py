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
    "secure_bucket_parts",
    "lifecycle_rule",
    "deny_insecure_transport",
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


def pod_identity_role(scope: Construct, id: str, *, name: str, description: str | None = None) -> IamRole:
    """A role EKS Pod Identity gives a ServiceAccount's pods: trusted by `pods.eks.amazonaws.com`, which
    assumes it with session tags (the cluster, namespace and service account)."""
    return IamRole(
        scope,
        id,
        name=name,
        description=description,
        assume_role_policy=document(
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ),
    )


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


def secure_bucket_parts(
    scope: Construct,
    id: str,
    *,
    part_prefix: str,
    name: str,
    kms_key_arn: str,
    protected: bool,
    versioning: bool = True,
    object_lock: bool = False,
) -> tuple[S3Bucket, S3Versioning]:
    """A bucket `id` in `scope` with the parts every bucket of the platform gets, made beside it as
    `<part_prefix>public-access`, `<part_prefix>ownership`, `<part_prefix>encryption` and
    `<part_prefix>versioning`: public access blocked, objects owned by the bucket owner, SSE-KMS with
    `kms_key_arn` and a bucket key, versioning (`versioning` False: suspended). force_destroy only when
    not `protected`; `object_lock` enables S3 Object Lock on the bucket (its rule is the caller's), which
    needs versioning: S3 refuses to suspend it on an object-locked bucket, so `object_lock` with
    `versioning` False is a ValueError.

    `SecureBucket` uses it with its own scope and no prefix; the baseline's audit-log bucket, which is
    older than `SecureBucket`, uses it with the prefix `audit-logs-` in the baseline's scope, so that its
    construct ids, and with them its Terraform addresses, stay what they were (an address that moves
    replaces the bucket). Returns the bucket and its versioning resource (object lock and lifecycle
    rules that need versioning depend on it)."""
    if object_lock and not versioning:
        raise ValueError(
            f"bucket {id!r}: object_lock=True needs versioning=True (got versioning=False); S3 does not"
            " suspend versioning on a bucket with Object Lock. Keep versioning on, or drop the object lock."
        )
    bucket = S3Bucket(
        scope,
        id,
        bucket=name,
        object_lock_enabled=True if object_lock else None,
        force_destroy=not protected,
        lifecycle=protect(protected),
    )
    S3BucketPublicAccessBlock(
        scope,
        f"{part_prefix}public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    S3BucketOwnershipControls(
        scope, f"{part_prefix}ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}
    )
    S3Sse(
        scope,
        f"{part_prefix}encryption",
        bucket=bucket.id,
        rule=[
            SseRule(
                apply_server_side_encryption_by_default={"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn},
                bucket_key_enabled=True,
            )
        ],
    )
    versions = S3Versioning(
        scope,
        f"{part_prefix}versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled" if versioning else "Suspended"},
    )
    return bucket, versions


def lifecycle_rule(id: str, *, noncurrent_days: int, expire_days: int | None = None) -> LifecycleRule:
    """One lifecycle rule over the whole bucket: incomplete multipart uploads go after 7 days, noncurrent
    versions after `noncurrent_days`, current objects after `expire_days` (omitted: kept)."""
    return LifecycleRule(
        id=id,
        status="Enabled",
        filter=[RuleFilter(prefix="")],
        abort_incomplete_multipart_upload=[AbortMultipart(days_after_initiation=7)],
        noncurrent_version_expiration=[NoncurrentExpiration(noncurrent_days=noncurrent_days)],
        expiration=[Expiration(days=expire_days)] if expire_days else None,
    )


def deny_insecure_transport(arn: str) -> dict:
    """The bucket policy statement refusing every request to bucket `arn` and its objects without TLS."""
    return statement(
        ["s3:*"],
        [arn, f"{arn}/*"],
        sid="DenyInsecureTransport",
        effect="Deny",
        principal={"AWS": "*"},
        condition={"Bool": {"aws:SecureTransport": "false"}},
    )


class SecureBucket(Construct):
    def __init__(self, scope: Construct, id: str, *, props: BucketProps):
        super().__init__(scope, id)
        p = props
        self.bucket, _ = secure_bucket_parts(
            self,
            "bucket",
            part_prefix="",
            name=p.name,
            kms_key_arn=p.kms_key_arn,
            protected=p.protect,
            versioning=p.versioning,
        )
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        rule = lifecycle_rule("lifecycle", noncurrent_days=p.noncurrent_days, expire_days=p.expire_days)
        S3BucketLifecycleConfiguration(self, "lifecycle", bucket=self.bucket.id, rule=[rule])
        S3BucketPolicy(self, "tls-only", bucket=self.bucket.id, policy=document(deny_insecure_transport(self.arn)))

    def read_statements(self, prefix: str = "") -> list[dict]:
        return [
            statement(["s3:ListBucket", "s3:GetBucketLocation"], [self.arn]),
            statement(["s3:GetObject", "s3:GetObjectVersion"], [f"{self.arn}/{prefix}*"]),
        ]

    def write_statements(self, prefix: str = "") -> list[dict]:
        return [statement(["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], [f"{self.arn}/{prefix}*"])]
