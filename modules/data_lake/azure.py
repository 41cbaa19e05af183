"""The data lake on Azure: one ADLS Gen2 account (hierarchical namespace), one filesystem per zone."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle
from cdktn_provider_azurerm.role_assignment import RoleAssignment
from cdktn_provider_azurerm.storage_account import (
    StorageAccount,
    StorageAccountBlobProperties,
    StorageAccountIdentity,
    StorageAccountNetworkRules,
)
from cdktn_provider_azurerm.storage_account import (
    StorageAccountBlobPropertiesContainerDeleteRetentionPolicy as ContainerRetention,
)
from cdktn_provider_azurerm.storage_account import (
    StorageAccountBlobPropertiesDeleteRetentionPolicy as BlobRetention,
)
from cdktn_provider_azurerm.storage_account_customer_managed_key import StorageAccountCustomerManagedKeyA
from cdktn_provider_azurerm.storage_data_lake_gen2_filesystem import StorageDataLakeGen2Filesystem
from cdktn_provider_azurerm.storage_management_policy import (
    StorageManagementPolicy,
)
from cdktn_provider_azurerm.storage_management_policy import (
    StorageManagementPolicyRule as Rule,
)
from cdktn_provider_azurerm.storage_management_policy import (
    StorageManagementPolicyRuleActions as Actions,
)
from cdktn_provider_azurerm.storage_management_policy import (
    StorageManagementPolicyRuleActionsBaseBlob as BaseBlob,
)
from cdktn_provider_azurerm.storage_management_policy import (
    StorageManagementPolicyRuleFilters as Filters,
)
from cdktn_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct

from mlops_blueprint.blueprints.model import DataLake
from mlops_blueprint.modules.azure_common import assign_role, protect
from mlops_blueprint.modules.baseline.azure import AzureBaseline
from mlops_blueprint.stacks.azure.names import AzureNames

READER, WRITER = "Storage Blob Data Reader", "Storage Blob Data Contributor"
DNS_ZONES = {"dfs": "privatelink.dfs.core.windows.net", "blob": "privatelink.blob.core.windows.net"}
# Soft delete when the blueprint turns versioning off (Azure allows 1..365 days).
MIN_SOFT_DELETE_DAYS, MAX_SOFT_DELETE_DAYS = 7, 365


def soft_delete_days(spec: DataLake) -> int:
    """Versioning's purpose, getting back what was overwritten or deleted for noncurrent_version_days,
    maps to soft delete for that many days (capped at Azure's 365); versioning off: 7 days."""
    return min(spec.noncurrent_version_days, MAX_SOFT_DELETE_DAYS) if spec.versioning else MIN_SOFT_DELETE_DAYS


@dataclass(frozen=True)
class DataLakeProps:
    """spec: zones (omitted: raw, curated, features), versioning (omitted: on, here as soft delete; see
    AzureDataLake), retention_days per zone (omitted: kept forever), noncurrent_version_days (omitted: 90).
    baseline: network, keys and logs. protect: prevent_destroy on the account and every filesystem."""

    naming: AzureNames
    spec: DataLake
    baseline: AzureBaseline
    protect: bool


class AzureDataLake(Construct):
    """An ADLS Gen2 storage account (StorageV2, hierarchical namespace, ZRS) with one filesystem per zone.

    - Encryption: infrastructure (double) encryption plus a customer-managed key, the baseline's "data"
      key by its versionless id (rotation is followed automatically), used through the baseline's
      encryption identity; queues and tables use the account key too.
    - Access: Entra ID only (shared keys off, OAuth by default), no public network access, no nested
      public containers, HTTPS and TLS 1.2 only, copies only from private links, no SFTP/NFS/local users.
      Reached through private endpoints for `dfs` and `blob` on the baseline's endpoints subnet.
    - Recovery: Azure refuses blob versioning on accounts with a hierarchical namespace (and the provider
      rejects `versioning_enabled` with `is_hns_enabled`). The trade-off: POSIX-style directories, atomic
      renames and ACLs (what Spark and Hive-style databases need) in exchange for versions. `versioning`
      therefore becomes blob and container soft delete for `noncurrent_version_days` (at most 365; 7 when
      versioning is off): deleted or overwritten data can be undeleted, but there is no version history.
      Artifacts that need versions live in the registry's non-HNS account.
    - Lifecycle: a management policy deletes blobs of a zone `retention_days[zone]` days after their last
      modification (rule per zone, prefix = the zone's filesystem); zones without retention keep data.
    - Diagnostics: the account's metrics and the blob service's logs and metrics to Log Analytics.

    The deploying principal gets "Storage Blob Data Contributor" on the account: filesystems are created
    through the dfs data plane (and, with public access off, over the private endpoint).
    """

    def __init__(self, scope: Construct, id: str, *, props: DataLakeProps):
        super().__init__(scope, id)
        n, spec, b = props.naming, props.spec, props.baseline
        unknown = sorted(set(spec.retention_days) - set(spec.zones))
        if unknown:
            raise ValueError(
                f"data_lake.retention_days names zones the lake does not have: {', '.join(unknown)}; "
                f"lake zones: {', '.join(spec.zones)} (add the zone or drop its retention)"
            )
        self._baseline = b
        days = soft_delete_days(spec)
        self.account = StorageAccount(
            self,
            "account",
            name=n.lake_account,
            location=b.location,
            resource_group_name=b.resource_group.name,
            account_kind="StorageV2",
            account_tier="Standard",
            account_replication_type="ZRS",
            access_tier="Hot",
            is_hns_enabled=True,
            infrastructure_encryption_enabled=True,
            queue_encryption_key_type="Account",
            table_encryption_key_type="Account",
            shared_access_key_enabled=False,
            default_to_oauth_authentication=True,
            public_network_access="Disabled",
            allow_nested_items_to_be_public=False,
            https_traffic_only_enabled=True,
            min_tls_version="TLS1_2",
            cross_tenant_replication_enabled=False,
            allowed_copy_scope="PrivateLink",
            sftp_enabled=False,
            nfsv3_enabled=False,
            local_user_enabled=False,
            identity=StorageAccountIdentity(type="UserAssigned", identity_ids=[b.encryption_identity.id]),
            network_rules=StorageAccountNetworkRules(default_action="Deny", bypass=["AzureServices"]),
            blob_properties=StorageAccountBlobProperties(
                versioning_enabled=False,
                change_feed_enabled=False,
                delete_retention_policy=BlobRetention(days=days),
                container_delete_retention_policy=ContainerRetention(days=days),
            ),
            # The key is set by the separate resource below; the account must not fight it.
            lifecycle=TerraformResourceLifecycle(
                prevent_destroy=props.protect or None, ignore_changes=["customer_managed_key"]
            ),
        )
        self.customer_managed_key = StorageAccountCustomerManagedKeyA(
            self,
            "cmk",
            storage_account_id=self.account.id,
            key_vault_key_id=b.key_id("data"),
            user_assigned_identity_id=b.encryption_identity.id,
            depends_on=[b.encryption_grant],
        )
        self.endpoints = {
            sub: b.private_endpoint(self, f"endpoint-{sub}", resource_id=self.account.id, subresource=sub, zone=zone)
            for sub, zone in DNS_ZONES.items()
        }
        b.diagnostics(self, "diagnostics", self.account.id, logs=False)  # the account itself has metrics only
        b.diagnostics(self, "blob-diagnostics", f"{self.account.id}/blobServices/default")

        self.deployer_access = RoleAssignment(
            self,
            "deployer-data-contributor",
            scope=self.account.id,
            principal_id=b.client.object_id,
            role_definition_name=WRITER,
        )
        self.zones: dict[str, StorageDataLakeGen2Filesystem] = {
            zone: StorageDataLakeGen2Filesystem(
                self,
                f"zone-{zone}",
                name=zone,
                storage_account_id=self.account.id,
                # a data-plane call (dfs): the runner reaches it through the private endpoint
                depends_on=[
                    self.deployer_access,
                    self.endpoints["dfs"],
                    self.customer_managed_key,
                    *b.reach(DNS_ZONES["dfs"]),
                ],
                lifecycle=protect(props.protect),
            )
            for zone in spec.zones
        }

        rules = [
            Rule(
                name=f"expire-{zone}",
                enabled=True,
                filters=Filters(blob_types=["blockBlob", "appendBlob"], prefix_match=[f"{zone}/"]),
                actions=Actions(base_blob=BaseBlob(delete_after_days_since_modification_greater_than=d)),
            )
            for zone, d in spec.retention_days.items()
        ]
        self.lifecycle_policy = (
            StorageManagementPolicy(self, "lifecycle", storage_account_id=self.account.id, rule=rules)
            if rules
            else None
        )

    def zone_scope(self, zone: str) -> str:
        """The resource id of a zone's filesystem (a blob container): the scope of role assignments on it."""
        if zone not in self.zones:
            raise ValueError(f"unknown lake zone {zone!r}; lake zones: {', '.join(self.zones)}")
        return f"{self.account.id}/blobServices/default/containers/{self.zones[zone].name}"

    def grant(self, principal: UserAssignedIdentity, *, read: list[str], write: list[str], id: str) -> None:
        """Data access per zone, each role assignment scoped to exactly that zone's filesystem:
        read -> "Storage Blob Data Reader"; write (with or without read) -> "Storage Blob Data Contributor".
        Zones the lake does not have raise ValueError (the composition filters the access block first)."""
        unknown = sorted(set(read) - set(self.zones) | set(write) - set(self.zones))
        if unknown:
            raise ValueError(
                f"grant {id!r} names zones the lake does not have: {', '.join(unknown)}; "
                f"lake zones: {', '.join(self.zones)}"
            )
        for zone in self.zones:
            if zone in write or zone in read:
                assign_role(
                    self,
                    f"{id}-{zone}",
                    on=self.zone_scope(zone),
                    principal=principal,
                    role=WRITER if zone in write else READER,
                )
