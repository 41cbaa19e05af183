"""The data lake on GCP: one secure Cloud Storage bucket per zone."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_google.service_account import ServiceAccount
from constructs import Construct

from mlops_blueprint.blueprints.model import DataLake
from mlops_blueprint.modules.baseline.gcp import GcpBaseline
from mlops_blueprint.modules.gcp_common import BucketProps, SecureBucket
from mlops_blueprint.stacks.gcp.names import GcpNames


@dataclass(frozen=True)
class DataLakeProps:
    """spec: zones, versioning (omitted: on), retention (omitted: kept). protect: prevent_destroy, no force_destroy."""

    naming: GcpNames
    spec: DataLake
    baseline: GcpBaseline
    protect: bool


class GcpDataLake(Construct):
    """GCS per zone: CMEK with the data key, versioning, lifecycle, uniform access, public access prevented."""

    def __init__(self, scope: Construct, id: str, *, props: DataLakeProps):
        super().__init__(scope, id)
        b = props.baseline
        self.zones: dict[str, SecureBucket] = {
            zone: SecureBucket(
                self,
                zone,
                props=BucketProps(
                    name=props.naming.gcs_bucket(zone),
                    location=b.region,
                    kms_key=b.key("data"),
                    protect=props.protect,
                    versioning=props.spec.versioning,
                    expire_days=props.spec.retention_days.get(zone),
                    noncurrent_days=props.spec.noncurrent_version_days,
                    depends_on=tuple(b.with_key("data")),
                ),
            )
            for zone in props.spec.zones
        }

    def grant(self, principal: ServiceAccount, *, read: list[str], write: list[str], id: str) -> None:
        """Object access to named zones for one IAM member (unknown zones are ignored: callers filter)."""
        member = principal.member
        for zone, bucket in self.zones.items():
            bucket.grant(member, read=zone in read, write=zone in write, id=f"{id}-{zone}")
