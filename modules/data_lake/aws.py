"""The data lake on AWS: one secure S3 bucket per zone."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_aws.iam_role import IamRole
from constructs import Construct

from mlops_blueprint.blueprints.model import DataLake
from mlops_blueprint.modules.aws_common import BucketProps, SecureBucket, attach
from mlops_blueprint.modules.baseline.aws import AwsBaseline
from mlops_blueprint.stacks.aws.names import AwsNames


@dataclass(frozen=True)
class DataLakeProps:
    """spec: zones, versioning (omitted: on), retention (omitted: kept). protect: prevent_destroy, no force_destroy."""

    naming: AwsNames
    spec: DataLake
    baseline: AwsBaseline
    protect: bool


class AwsDataLake(Construct):
    """S3 per zone: SSE-KMS with the data key, versioning, lifecycle, public access blocked, TLS only."""

    def __init__(self, scope: Construct, id: str, *, props: DataLakeProps):
        super().__init__(scope, id)
        self._baseline = props.baseline
        self.zones: dict[str, SecureBucket] = {}
        for zone in props.spec.zones:
            self.zones[zone] = SecureBucket(
                self,
                zone,
                props=BucketProps(
                    name=props.naming.bucket(zone),
                    kms_key_arn=props.baseline.keys["data"].arn,
                    protect=props.protect,
                    versioning=props.spec.versioning,
                    expire_days=props.spec.retention_days.get(zone),
                    noncurrent_days=props.spec.noncurrent_version_days,
                ),
            )

    def grant(self, role: IamRole, *, read: list[str], write: list[str], id: str) -> None:
        """Read and/or write access to named zones (unknown zones are ignored: callers filter)."""
        statements: list[dict] = []
        for z in read:
            statements += self.zones[z].read_statements()
        for z in write:
            statements += self.zones[z].write_statements()
        if statements:
            statements.append(self._baseline.key_statements("data", write=bool(write)))
            attach(self, id, role, *statements)
