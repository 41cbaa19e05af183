"""The data catalog on Azure: a private Microsoft Purview account that scans the lake zones the catalog's
databases list, and each database as a Hive-style directory in those zones' filesystems.

Why Purview plus directories, and not something else:
- azurerm manages Purview only as an account (`azurerm_purview_account`); collections, data sources,
  scans and catalog roles are Purview data-plane APIs that no Terraform provider here manages.
- Unity Catalog would need a Databricks workspace and a second provider; Azure ML datastores register
  storage but are no catalog. So the Terraform-managed part of "a database" is its storage: directory
  `<db>` in each zone filesystem it lists (Spark, Azure ML and Purview all read a database as a folder),
  whose data access is enforced by Azure RBAC through the lake's grants.
- Purview's system identity reads exactly the zones some database crawls ("Storage Blob Data Reader" on
  each such filesystem, nothing else), so scans registered against those folders can read them.

Access: since August 2021 Purview's catalog roles (Data Reader, Data Curator, Collection Admin) live in
Purview collections, a data plane; the old Azure RBAC roles ("Purview Data Curator/Reader") are retired.
`grant` therefore gives "Reader" on the account (see it and its endpoints, change nothing: no Owner or
Contributor anywhere) and records the collection role the persona should hold in `collection_roles`
(read -> Data Reader, write -> Data Curator) for the post-deploy step that calls the Purview metadata
policy API. Scans and their schedule (`scans`, from `crawl_schedule`) are data-plane too and are
created by that same step. The catalog never grants lake data access: that comes only from the lake's
grants, so no catalog level can give write on an engineering zone to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_azurerm.purview_account import PurviewAccount, PurviewAccountIdentity
from cdktn_provider_azurerm.role_assignment import RoleAssignment
from cdktn_provider_azurerm.storage_data_lake_gen2_path import StorageDataLakeGen2Path
from cdktn_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct

from mlops_blueprint.blueprints.model import Catalog
from mlops_blueprint.modules.azure_common import assign_role, protect
from mlops_blueprint.modules.baseline.azure import AzureBaseline
from mlops_blueprint.modules.data_lake.azure import READER as BLOB_READER
from mlops_blueprint.modules.data_lake.azure import AzureDataLake
from mlops_blueprint.stacks.azure.names import AzureNames

LEVELS = ("none", "read", "write")
COLLECTION_ROLE = {"read": "Data Reader", "write": "Data Curator"}
DNS_ZONES = {"account": "privatelink.purview.azure.com", "portal": "privatelink.purviewstudio.azure.com"}


@dataclass(frozen=True)
class CatalogProps:
    """spec: databases and the lake zones each lists (omitted zones: a database with no folder and no scan;
    omitted schedule: daily 03:00 UTC). lake: omitted, no database may list zones. protect: prevent_destroy
    on the Purview account and on every database directory."""

    naming: AzureNames
    spec: Catalog
    baseline: AzureBaseline
    lake: AzureDataLake | None
    protect: bool


@dataclass(frozen=True)
class CollectionRole:
    """A Purview collection role a principal should hold (data plane; applied after deploy)."""

    principal: UserAssignedIdentity
    role: str


class AzureCatalog(Construct):
    def __init__(self, scope: Construct, id: str, *, props: CatalogProps):
        super().__init__(scope, id)
        n, b, lake, spec = props.naming, props.baseline, props.lake, props.spec
        lake_zones = list(lake.zones) if lake is not None else []
        for db, database in spec.databases.items():
            missing = [z for z in database.zones if z not in lake_zones]
            if missing:
                have = ", ".join(lake_zones) or "none (no data lake)"
                raise ValueError(
                    f"catalog database {db!r} lists zones the data lake does not have: "
                    f"{', '.join(missing)}; lake zones: {have} (add the zone to data_lake.zones or "
                    f"drop it from catalog.databases.{db}.zones)"
                )
        self.account = PurviewAccount(
            self,
            "purview",
            name=n.purview,
            location=b.location,
            resource_group_name=b.resource_group.name,
            identity=PurviewAccountIdentity(type="SystemAssigned"),
            public_network_enabled=False,
            managed_event_hub_enabled=False,
            managed_resource_group_name=n.dashed("rg", "purview", limit=90),
            lifecycle=protect(props.protect),
        )
        self.endpoints = {
            sub: b.private_endpoint(self, f"endpoint-{sub}", resource_id=self.account.id, subresource=sub, zone=zone)
            for sub, zone in DNS_ZONES.items()
        }
        b.diagnostics(self, "diagnostics", self.account.id)

        self.scans: dict[str, dict[str, object]] = {
            db: {"zones": list(database.zones), "schedule": spec.crawl_schedule}
            for db, database in spec.databases.items()
            if database.zones
        }
        self.directories: dict[tuple[str, str], StorageDataLakeGen2Path] = {}
        self.scanner_grants: dict[str, RoleAssignment] = {}
        self.collection_roles: list[CollectionRole] = []
        if lake is None:
            return
        for db, database in spec.databases.items():
            for zone in database.zones:
                self.directories[(db, zone)] = StorageDataLakeGen2Path(
                    self,
                    f"db-{db}-{zone}",
                    path=db,
                    filesystem_name=lake.zones[zone].name,
                    storage_account_id=lake.account.id,
                    resource="directory",
                    lifecycle=protect(props.protect),
                )
        for zone in sorted({z for database in spec.databases.values() for z in database.zones}):
            self.scanner_grants[zone] = RoleAssignment(
                self,
                f"purview-reads-{zone}",
                scope=lake.zone_scope(zone),
                principal_id=self.account.identity.principal_id,
                role_definition_name=BLOB_READER,
                principal_type="ServicePrincipal",
            )

    def grant(self, principal: UserAssignedIdentity, level: str, *, id: str) -> None:
        """none: nothing. read or write: "Reader" on the Purview account, and the collection role to apply
        after deploy (read -> Data Reader, write -> Data Curator) recorded in `collection_roles`."""
        if level not in LEVELS:
            raise ValueError(f"catalog grant {id!r}: level {level!r} is not one of {', '.join(LEVELS)}")
        if level == "none":
            return
        assign_role(self, id, on=self.account.id, principal=principal, role="Reader")
        self.collection_roles.append(CollectionRole(principal, COLLECTION_ROLE[level]))
