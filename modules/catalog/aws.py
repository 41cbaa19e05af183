"""The data catalog on AWS: Glue databases, crawlers over lake zones, Lake Formation grants."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_aws.glue_catalog_database import GlueCatalogDatabase
from cdktn_provider_aws.glue_crawler import GlueCrawler, GlueCrawlerS3Target
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.lakeformation_permissions import LakeformationPermissions
from cdktn_provider_aws.lakeformation_resource import LakeformationResource
from constructs import Construct

from mlops_blueprint.blueprints.model import Catalog
from mlops_blueprint.modules.aws_common import attach, aws_cron, protect, service_role
from mlops_blueprint.modules.baseline.aws import AwsBaseline
from mlops_blueprint.modules.data_lake.aws import AwsDataLake
from mlops_blueprint.stacks.aws.names import AwsNames

READ = ["DESCRIBE"]
WRITE = ["CREATE_TABLE", "ALTER", "DESCRIBE"]


@dataclass(frozen=True)
class CatalogProps:
    """spec: databases and the zones crawled into each (omitted schedule: daily 03:00 UTC)."""

    naming: AwsNames
    spec: Catalog
    baseline: AwsBaseline
    lake: AwsDataLake | None
    protect: bool


class AwsCatalog(Construct):
    def __init__(self, scope: Construct, id: str, *, props: CatalogProps):
        super().__init__(scope, id)
        n = props.naming
        self._baseline = props.baseline
        self.databases: dict[str, GlueCatalogDatabase] = {}
        for db in props.spec.databases:
            self.databases[db] = GlueCatalogDatabase(
                self,
                f"db-{db}",
                name=n.glue_database(db),
                description=props.spec.databases[db].description or None,
                lifecycle=protect(props.protect),
            )
        lake = props.lake
        if lake is None:
            return
        # Lake Formation vends credentials for its registered locations as this role, which may read and
        # write the zones and use their key: the service-linked role cannot decrypt a customer-managed key
        # (https://docs.aws.amazon.com/lake-formation/latest/dg/register-encrypted.html).
        self.data_access_role = service_role(
            self, "lf-data-access-role", name=n.iam_role("lf-data-access"), service="lakeformation.amazonaws.com"
        )
        lake.grant(self.data_access_role, read=list(lake.zones), write=list(lake.zones), id="lf-data-access")
        for zone, bucket in lake.zones.items():
            LakeformationResource(
                self,
                f"lf-{zone}",
                arn=bucket.arn,
                role_arn=self.data_access_role.arn,
                use_service_linked_role=False,
            )
        crawled = {db: spec.zones for db, spec in props.spec.databases.items() if spec.zones}
        if not crawled:
            return
        self.crawler_role = service_role(
            self,
            "crawler-role",
            name=n.iam_role("crawler"),
            service="glue.amazonaws.com",
            managed=["arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole"],
        )
        zones = sorted({z for zs in crawled.values() for z in zs})
        lake.grant(self.crawler_role, read=zones, write=[], id="crawler-lake-read")
        for db, dbzones in crawled.items():
            GlueCrawler(
                self,
                f"crawler-{db}",
                name=n.name("crawl", db.replace("_", "-")),
                database_name=self.databases[db].name,
                role=self.crawler_role.arn,
                schedule=aws_cron(props.spec.crawl_schedule),
                s3_target=[GlueCrawlerS3Target(path=f"s3://{lake.zones[z].name}/") for z in dbzones],
            )

    def grant(self, role: IamRole, level: str, *, id: str) -> None:
        """Lake Formation permissions on every database: read = DESCRIBE, write = CREATE_TABLE/ALTER."""
        if level == "none":
            return
        for db, database in self.databases.items():
            LakeformationPermissions(
                self,
                f"{id}-{db}",
                principal=role.arn,
                permissions=WRITE if level == "write" else READ,
                database={"name": database.name},
            )
        b = self._baseline
        glue = f"arn:{b.partition.partition}:glue:{b.region}:{b.account_id}"
        resources = [f"{glue}:catalog"]
        for database in self.databases.values():
            resources += [f"{glue}:database/{database.name}", f"{glue}:table/{database.name}/*"]
        attach(
            self,
            f"{id}-glue",
            role,
            {
                "Effect": "Allow",
                "Action": [
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartitions",
                ],
                "Resource": resources,
            },
            {"Effect": "Allow", "Action": ["lakeformation:GetDataAccess"], "Resource": ["*"]},
        )
