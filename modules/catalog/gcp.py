"""The data catalog on GCP: a Dataplex lake whose zones discover the lake buckets on a schedule,
and one BigQuery dataset per catalog database, with IAM for the personas."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_google.bigquery_dataset import BigqueryDataset
from cdktn_provider_google.bigquery_dataset_iam_member import BigqueryDatasetIamMember
from cdktn_provider_google.dataplex_asset import DataplexAsset
from cdktn_provider_google.dataplex_lake import DataplexLake
from cdktn_provider_google.dataplex_lake_iam_member import DataplexLakeIamMember
from cdktn_provider_google.dataplex_zone import DataplexZone
from cdktn_provider_google.project_iam_member import ProjectIamMember
from cdktn_provider_google.service_account import ServiceAccount
from constructs import Construct

from mlops_blueprint.blueprints.model import Catalog
from mlops_blueprint.modules.baseline.gcp import GcpBaseline
from mlops_blueprint.modules.data_lake.gcp import GcpDataLake
from mlops_blueprint.modules.gcp_common import protect
from mlops_blueprint.stacks.gcp.names import GcpNames

DATASET_ROLE = {"read": "roles/bigquery.dataViewer", "write": "roles/bigquery.dataEditor"}
LAKE_ROLE = {"read": "roles/dataplex.dataReader", "write": "roles/dataplex.dataWriter"}


@dataclass(frozen=True)
class CatalogProps:
    """spec: databases and the lake zones discovered for them (omitted schedule: daily 03:00 UTC)."""

    naming: GcpNames
    spec: Catalog
    baseline: GcpBaseline
    lake: GcpDataLake | None
    protect: bool


def zone_type(zone: str) -> str:
    """Dataplex zone type: `raw` holds data as it arrived; every other zone is curated."""
    return "RAW" if zone == "raw" else "CURATED"


class GcpCatalog(Construct):
    def __init__(self, scope: Construct, id: str, *, props: CatalogProps):
        super().__init__(scope, id)
        n, b = props.naming, props.baseline
        self._baseline = b
        self.datasets: dict[str, BigqueryDataset] = {
            db: BigqueryDataset(
                self,
                f"db-{db}",
                dataset_id=n.underscored(db),
                location=b.region,
                description=spec.description or f"{db} ({n.prefix})",
                default_encryption_configuration={"kms_key_name": b.key("data")},
                delete_contents_on_destroy=not props.protect,
                lifecycle=protect(props.protect),
                depends_on=b.with_key("data"),
            )
            for db, spec in props.spec.databases.items()
        }
        self.lake: DataplexLake | None = None
        lake = props.lake
        crawled = sorted({z for spec in props.spec.databases.values() for z in spec.zones})
        if lake is None or not crawled:
            return
        self.lake = DataplexLake(
            self,
            "lake",
            name=n.gcp_id("lake", what="Dataplex lake"),
            location=b.region,
            display_name=f"{n.prefix} lake",
            depends_on=b.services,
        )
        for zone in crawled:
            dz = DataplexZone(
                self,
                f"zone-{zone}",
                name=zone,
                lake=self.lake.name,
                location=b.region,
                type=zone_type(zone),
                resource_spec={"location_type": "SINGLE_REGION"},
                discovery_spec={"enabled": True, "schedule": props.spec.crawl_schedule},
            )
            DataplexAsset(
                self,
                f"asset-{zone}",
                name=f"{zone}-bucket",
                lake=self.lake.name,
                dataplex_zone=dz.name,
                location=b.region,
                discovery_spec={"enabled": True, "schedule": props.spec.crawl_schedule},
                resource_spec={
                    "name": f"projects/{b.project}/buckets/{lake.zones[zone].name}",
                    "type": "STORAGE_BUCKET",
                },
            )

    def grant(self, principal: ServiceAccount, level: str, *, id: str) -> None:
        """read: dataViewer on every dataset and dataReader on the lake; write: dataEditor and dataWriter.
        Both can run query jobs (bigquery.jobUser: jobs only, no data)."""
        member = principal.member
        if level == "none":
            return
        for db, ds in self.datasets.items():
            BigqueryDatasetIamMember(
                self, f"{id}-{db}", dataset_id=ds.dataset_id, role=DATASET_ROLE[level], member=member
            )
        if self.lake is not None:
            DataplexLakeIamMember(
                self,
                f"{id}-lake",
                lake=self.lake.name,
                location=self._baseline.region,
                role=LAKE_ROLE[level],
                member=member,
            )
        ProjectIamMember(
            self, f"{id}-jobs", project=self._baseline.project, role="roles/bigquery.jobUser", member=member
        )
