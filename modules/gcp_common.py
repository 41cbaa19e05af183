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
from mlops_blueprint.stacks.gcp.catalog import PREREQUISITE_APIS

if TYPE_CHECKING:
    from mlops_blueprint.stacks.gcp.names import GcpNames

__all__ = [
    "protect",
    "label_value",
    "custom_role",
    "BucketProps",
    "SecureBucket",
    "API_OF_TYPE",
    "EXTRA_APIS",
    "PREREQUISITE_APIS",
    "apis_of",
]

# The Google API each resource or data source type calls, by type prefix (the longest matching prefix
# wins). The stack enables each (google_project_service) and makes every resource wait for the API it
# calls (stacks/gcp/stack.py), so a first apply on a project where an API is off does not fail with
# "API has not been used in project ... or it is disabled". A google type no prefix covers fails the
# synth: add it here.
API_OF_TYPE: dict[str, str] = {
    "google_compute_": "compute.googleapis.com",
    "google_container_": "container.googleapis.com",
    "google_kms_": "cloudkms.googleapis.com",
    "google_vertex_ai_": "aiplatform.googleapis.com",
    "google_artifact_registry_": "artifactregistry.googleapis.com",
    "google_dataplex_": "dataplex.googleapis.com",
    "google_bigquery_": "bigquery.googleapis.com",
    "google_secret_manager_": "secretmanager.googleapis.com",
    "google_monitoring_": "monitoring.googleapis.com",
    "google_logging_": "logging.googleapis.com",
    "google_dns_": "dns.googleapis.com",
    "google_billing_budget": "billingbudgets.googleapis.com",
    "google_service_account": "iam.googleapis.com",
    "google_project_iam_custom_role": "iam.googleapis.com",
    "google_project_iam_": "cloudresourcemanager.googleapis.com",
    "google_project": "cloudresourcemanager.googleapis.com",
    "google_project_service_identity": "serviceusage.googleapis.com",
    "google_storage_": "storage.googleapis.com",
    "google_network_connectivity_": "networkconnectivity.googleapis.com",
    "google_binary_authorization_": "binaryauthorization.googleapis.com",
}
# APIs a type needs beyond its own, for what its arguments turn on: GKE's Binary Authorization
# (`binary_authorization.evaluation_mode`) checks images against the project's policy, which lives in
# binaryauthorization.googleapis.com; Artifact Registry's vulnerability scanning is Container Scanning.
EXTRA_APIS: dict[str, tuple[str, ...]] = {
    "google_container_cluster": ("binaryauthorization.googleapis.com",),
    "google_artifact_registry_repository": ("containerscanning.googleapis.com",),
}
# Types that need no API of their own (provider-side, or the token's own endpoint).
NO_API = ("google_client_config", "google_client_openid_userinfo", "google_project_service")
# What the project must have before the first apply can enable anything (stacks/gcp/catalog.py):
# `verify` reports them when off.


def apis_of(terraform_type: str) -> tuple[str, ...]:
    """The APIs a google/google-beta resource or data source type calls (ValueError for a type the table
    does not know, naming the table)."""
    if terraform_type in NO_API:
        return ()
    matches = [prefix for prefix in API_OF_TYPE if terraform_type.startswith(prefix)]
    if not matches:
        raise ValueError(
            f"{terraform_type}: no Google API is known for this type; add its prefix to "
            "modules/gcp_common.API_OF_TYPE so that the stack enables the API before creating it"
        )
    return (API_OF_TYPE[max(matches, key=len)], *EXTRA_APIS.get(terraform_type, ()))


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


def wait_for_apis(scope: Construct) -> dict[str, list[str]]:
    """Make every google resource and data source under `scope` depend on the google_project_service of
    each API it calls (`apis_of`); returns type -> the APIs it waits for. Call once the stack is built.
    An API the stack does not enable is a ValueError (the baseline enables every API of the table)."""
    from cdktn import TerraformDataSource, TerraformResource
    from cdktn_provider_google.project_service import ProjectService

    nodes = scope.node.find_all()
    services = {str(n.service_input): n for n in nodes if isinstance(n, ProjectService)}
    if not services:
        return {}
    waits: dict[str, list[str]] = {}
    for node in nodes:
        if not isinstance(node, (TerraformResource, TerraformDataSource)) or isinstance(node, ProjectService):
            continue
        kind = node.terraform_resource_type
        if not kind.startswith("google_"):
            continue
        apis = apis_of(kind)
        missing = [a for a in apis if a not in services]
        if missing:
            raise ValueError(f"{kind} calls {', '.join(missing)}, which the stack does not enable")
        refs = [f"{services[a].terraform_resource_type}.{services[a].friendly_unique_id}" for a in apis]
        if refs:
            node.depends_on = [*(node.depends_on or []), *(r for r in refs if r not in (node.depends_on or []))]
        waits[kind] = sorted(set(waits.get(kind, [])) | set(apis))
    return waits
