"""Pieces every GCP construct uses: labels, the secure bucket, IAM members."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cdktn_provider_google.project_iam_custom_role import ProjectIamCustomRole
from cdktn_provider_google.storage_bucket import (
    StorageBucket,
)
from cdktn_provider_google.storage_bucket import (
    StorageBucketLifecycleRule as LifecycleRule,
)
from cdktn_provider_google.storage_bucket_iam_member import StorageBucketIamMember
from constructs import Construct

from mlops_blueprint.modules.common import protect

if TYPE_CHECKING:
    from mlops_blueprint.stacks.gcp.names import GcpNames

__all__ = ["protect", "label_value", "custom_role", "BucketProps", "SecureBucket"]


def label_value(value: str) -> str:
    """A GCP label value: at most 63 lowercase letters, digits, `_` and `-` (an email's @ and . become -)."""
    return re.sub(r"[^a-z0-9_-]", "-", value.lower())[:63]


def custom_role(
    scope: Construct, id: str, *, naming: GcpNames, role: str, permissions: Iterable[str], description: str
) -> ProjectIamCustomRole:
    """A project custom role holding exactly `permissions`: id `<prefix>_<role>` (spaces and dashes as
    underscores, at most 64 characters), title `<prefix> <role>`."""
    return ProjectIamCustomRole(
        scope,
        id,
        role_id=naming.underscored(role.replace(" ", "_"), what="IAM custom role", limit=64),
        title=f"{naming.prefix} {role}",
        permissions=list(permissions),
        description=description,
    )


@dataclass(frozen=True)
class BucketProps:
    """A private, CMEK-encrypted bucket: uniform bucket-level access, public access prevention
    enforced, versioning (omitted: on), lifecycle (omitted expire_days: objects are kept; noncurrent
    versions go after `noncurrent_days`). force_destroy only when the environment is unprotected.
    depends_on: the key grant to the Cloud Storage service agent, without which creation fails."""

    name: str
    location: str
    kms_key: str
    protect: bool
    versioning: bool = True
    expire_days: int | None = None
    noncurrent_days: int = 90
    depends_on: tuple = field(default=())


class SecureBucket(Construct):
    def __init__(self, scope: Construct, id: str, *, props: BucketProps):
        super().__init__(scope, id)
        p = props
        rules = [
            LifecycleRule(action={"type": "Delete"}, condition={"days_since_noncurrent_time": p.noncurrent_days}),
            LifecycleRule(action={"type": "AbortIncompleteMultipartUpload"}, condition={"age": 7}),
        ]
        if p.expire_days:
            rules.append(
                LifecycleRule(action={"type": "Delete"}, condition={"age": p.expire_days, "with_state": "LIVE"})
            )
        self.bucket = StorageBucket(
            self,
            "bucket",
            name=p.name,
            location=p.location.upper(),
            force_destroy=not p.protect,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": p.versioning},
            encryption={"default_kms_key_name": p.kms_key},
            soft_delete_policy={"retention_duration_seconds": 604800},
            lifecycle_rule=rules,
            lifecycle=protect(p.protect),
            depends_on=list(p.depends_on) or None,
        )
        self.name = self.bucket.name
        self.url = self.bucket.url

    def grant(self, member: str, *, read: bool, write: bool, id: str) -> None:
        """Object access for one member: read = objectViewer, write = objectCreator, both = objectUser."""
        if not (read or write):
            return
        role = (
            "roles/storage.objectUser"
            if read and write
            else ("roles/storage.objectViewer" if read else "roles/storage.objectCreator")
        )
        StorageBucketIamMember(self, id, bucket=self.bucket.name, role=role, member=member)
