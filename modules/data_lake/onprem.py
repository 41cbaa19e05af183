"""The data lake on-prem: one S3 bucket per zone, in an in-cluster SeaweedFS or on an existing
S3-compatible endpoint (`target.object_store`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cdktn_provider_kubernetes.manifest import Manifest
from constructs import Construct

from mlops_blueprint.blueprints.model import DataLake
from mlops_blueprint.modules.baseline.onprem import OnpremBaseline
from mlops_blueprint.modules.onprem_common import CHARTS, Chart, Principal, manifest, release
from mlops_blueprint.stacks.onprem.names import OnpremNames

# Reviewed 2026-11. MinIO put its community edition into maintenance mode in late 2025 (no more community
# images or binaries, the console stripped earlier that year; the minio/operator repository has had no
# commit since 2025-10), so it is no longer a store to build on. SeaweedFS (Apache-2.0, released weekly)
# has an S3 gateway with per-bucket identities, bucket versioning, TTL expiry and volume encryption, and a
# chart that creates buckets declaratively. The chart publishes no values schema.
CHARTS["seaweedfs"] = Chart(
    repository="https://seaweedfs.github.io/seaweedfs/helm", chart="seaweedfs", version="4.44.0", app_version="4.44"
)
SEAWEEDFS_TAG = "4.44"
S3_PORT = 8333
# The job that prepares buckets on an external endpoint (create, versioning, default encryption, lifecycle,
# no public access) uses the AWS CLI, pinned.
AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.31.39"
ACCESS = ("read", "write")
KEYS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
ARTIFACTS_SECRET = "lake-artifacts-write"  # in the secrets namespace: the registry's read-write key
# Volume sizes of the in-cluster store (one environment; grow the volume servers' PVCs as data grows).
MASTER_SIZE, FILER_SIZE, VOLUME_SIZE = "10Gi", "50Gi", "1Ti"


def seaweed_ttl(days: int) -> str:
    """SeaweedFS TTLs are `<1..255><unit>`: the exact value when one exists (days, weeks, years), else
    the next whole week at or above `days` (objects are kept a little longer, never shorter)."""
    if days <= 255:
        return f"{days}d"
    if days % 365 == 0 and days // 365 <= 255:
        return f"{days // 365}y"
    weeks = -(-days // 7)
    if weeks <= 255:
        return f"{weeks}w"
    return f"{-(-days // 365)}y"


def lake_endpoint(b: OnpremBaseline) -> str:
    """The lake's S3 endpoint: `target.object_store`, else the in-cluster SeaweedFS gateway."""
    if b.target.object_store:
        return b.target.object_store.rstrip("/")
    return f"http://lake-s3.{b.namespaces['data']}.svc:{S3_PORT}"


def credential_secret(zone: str, access: str) -> str:
    """The Secret (in the data namespace, and its source in the secrets namespace) holding one zone's
    read or write credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, BUCKET."""
    return f"lake-{zone}-{access}"


@dataclass(frozen=True)
class DataLakeProps:
    """spec: zones, versioning (omitted: on), retention_days (omitted: kept), noncurrent_version_days.
    baseline: namespaces, storage class, the secret store, `target.object_store` (omitted: SeaweedFS in the
    data namespace). protect: prevent_destroy on the store's release (its volumes hold the lake)."""

    naming: OnpremNames
    spec: DataLake
    baseline: OnpremBaseline
    protect: bool


class OnpremDataLake(Construct):
    """One bucket per zone (`zones`, `buckets`: zone -> bucket name) at `endpoint`.

    In-cluster (no `target.object_store`): SeaweedFS in the data namespace with S3 authentication on, the
    filer encrypting volume data (`encryptVolumeData`: every chunk with its own AES-256-GCM key kept in the
    filer's metadata, so volume servers and their disks hold ciphertext only), buckets created by the chart
    with versioning Enabled, `anonymousRead: false` and a TTL from `retention_days`. Identities: an admin and,
    per zone, a read identity (Read/List on that bucket only) and a write identity (Read/List/Write/Tagging on
    that bucket only); their keys are generated in the cluster (secrets namespace, ESO Password generator),
    the identity file is rendered by ESO into Secret `lake-s3-config`: no key ever enters Terraform state.
    SeaweedFS's lifecycle has no noncurrent-version expiry: old versions are kept until deleted
    (`noncurrent_version_days` applies on external endpoints only).

    External (`target.object_store`): S3 APIs have no portable identity API, so the endpoint's owners issue
    the credentials: they put Secrets `lake-admin`, `lake-<zone>-read`/`-write` and `lake-artifacts-write`
    (keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) into the secrets namespace, each scoped on the store to
    its bucket; a Job (AWS CLI,
    admin credentials) creates each bucket and sets versioning, default encryption (SSE-S3), the lifecycle
    (expiry from retention_days, noncurrent versions after noncurrent_version_days) and a public access block.

    Either way each zone's credentials reach the data namespace as Secret `lake-<zone>-<read|write>`;
    `grant` lets a principal get exactly those Secrets.
    """

    def __init__(self, scope: Construct, id: str, *, props: DataLakeProps):
        super().__init__(scope, id)
        b, n, spec = props.baseline, props.naming, props.spec
        self.baseline = b
        self.namespace = b.namespaces["data"]
        self.external = b.target.object_store is not None
        self.zones: dict[str, str] = {z: n.bucket(z) for z in spec.zones}
        self.buckets: dict[str, str] = dict(self.zones)
        for zone in spec.retention_days:
            if zone not in self.zones:
                raise ValueError(
                    f"data_lake.retention_days names zone {zone!r}, which the lake lacks; "
                    f"zones: {', '.join(self.zones)}"
                )
        self.endpoint: str = lake_endpoint(b)
        self.credentials: dict[tuple[str, str], str] = {
            (z, a): credential_secret(z, a) for z in self.zones for a in ACCESS
        }
        # The registry's model artifacts live in the same store, in a bucket of their own.
        self.artifacts_bucket = n.artifacts_bucket
        guard = b.guards["data"]

        # Credentials: sources in the secrets namespace (generated here, or supplied for an external store),
        # copies in the data namespace carrying the endpoint and bucket too.
        sources = [("admin", "lake-admin"), ("artifacts-write", ARTIFACTS_SECRET)] + [
            (f"{z}-{a}", s) for (z, a), s in self.credentials.items()
        ]
        generated: list[Any] = []
        if not self.external:
            generated = [
                b.generated_secret(
                    self,
                    f"generate-{key}",
                    namespace=b.secrets_namespace,
                    name=secret,
                    keys=KEYS,
                    depends_on=b.guards["secrets"],
                )
                for key, secret in sources
            ]
        self.secrets: dict[tuple[str, str], Any] = {}
        for (zone, access), secret in self.credentials.items():
            self.secrets[(zone, access)] = b.external_secret(
                self,
                f"credentials-{zone}-{access}",
                namespace=self.namespace,
                name=secret,
                keys={k: f"{secret}/{k}" for k in KEYS},
                template={"AWS_ENDPOINT_URL_S3": self.endpoint, "BUCKET": self.zones[zone]},
                depends_on=[*guard, *generated],
            )
        admin = b.external_secret(
            self,
            "credentials-admin",
            namespace=self.namespace,
            name="lake-admin",
            keys={k: f"lake-admin/{k}" for k in KEYS},
            template={"AWS_ENDPOINT_URL_S3": self.endpoint},
            depends_on=[*guard, *generated],
        )

        if self.external:
            self.store = None
            # The bucket job reaches the external endpoint (HTTPS); nothing else in the namespace may.
            b.allow_egress(
                self,
                "endpoint-egress",
                namespace=self.namespace,
                ports=[_port(self.endpoint)],
                pod_selector={"app.kubernetes.io/name": "lake-buckets"},
            )
            self.bucket_job: Manifest | None = self._bucket_job(spec, depends_on=[admin, *guard])
            return
        config = b.external_secret(
            self,
            "s3-config",
            namespace=self.namespace,
            name="lake-s3-config",
            keys={f"{key}_{k}": f"{secret}/{k}" for key, secret in sources for k in KEYS},
            template={"seaweedfs_s3_config": self._identities()},
            depends_on=[*guard, *generated],
        )
        sc = {"storageClass": b.storage_class} if b.storage_class else {}

        def pvc(size: str) -> dict[str, Any]:
            return {"type": "persistentVolumeClaim", "size": size, **sc}

        values: dict[str, Any] = {
            "fullnameOverride": "lake",
            "image": {"tag": SEAWEEDFS_TAG},
            "global": {"seaweedfs": {"enableSecurity": False, "monitoring": {"enabled": False}}},
            "master": {"replicas": 3, "data": pvc(MASTER_SIZE), "logs": {"type": "emptyDir"}},
            "volume": {"replicas": 3, "dataDirs": [{"name": "data1", "maxVolumes": 0, **pvc(VOLUME_SIZE)}]},
            "filer": {"replicas": 2, "encryptVolumeData": True, "data": pvc(FILER_SIZE), "logs": {"type": "emptyDir"}},
            "s3": {
                "enabled": True,
                "port": S3_PORT,
                "enableAuth": True,
                "existingConfigSecret": "lake-s3-config",
                "createBuckets": [
                    *(self._bucket(zone, bucket, spec) for zone, bucket in self.zones.items()),
                    {"name": self.artifacts_bucket, "anonymousRead": False, "versioning": "Enabled"},
                ],
            },
        }
        self.store = release(
            self,
            "store",
            name=props.naming.release("lake"),
            chart="seaweedfs",
            namespace=self.namespace,
            values=values,
            protect_it=props.protect,
            depends_on=[config, *guard],
        )
        self.bucket_job = None
        # Workloads that read or write the lake: training jobs, MLflow (artifacts), model servers.
        clients = [b.namespaces[p] for p in ("training", "registry", "serving")]
        b.allow(
            self,
            "s3-from-planes",
            namespace=self.namespace,
            from_namespaces=clients,
            ports=[S3_PORT],
            pod_selector={"app.kubernetes.io/component": "s3"},
        )

    @staticmethod
    def _bucket(zone: str, bucket: str, spec: DataLake) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": bucket,
            "anonymousRead": False,
            "versioning": "Enabled" if spec.versioning else "Suspended",
        }
        if zone in spec.retention_days:
            out["ttl"] = seaweed_ttl(spec.retention_days[zone])
        return out

    def _identities(self) -> str:
        """SeaweedFS's identity file as an ESO template: keys are filled in the cluster."""

        def ident(name: str, key: str, actions: list[str]) -> dict[str, Any]:
            return {
                "name": name,
                "credentials": [
                    {"accessKey": f"@@{key}_AWS_ACCESS_KEY_ID@@", "secretKey": f"@@{key}_AWS_SECRET_ACCESS_KEY@@"}
                ],
                "actions": actions,
            }

        ids = [ident("admin", "admin", ["Admin", "Read", "List", "Write", "Tagging"])]
        art = self.artifacts_bucket
        ids.append(
            ident(
                "artifacts-write", "artifacts-write", [f"Read:{art}", f"List:{art}", f"Write:{art}", f"Tagging:{art}"]
            )
        )
        for zone, bucket in self.zones.items():
            ids.append(ident(f"{zone}-read", f"{zone}-read", [f"Read:{bucket}", f"List:{bucket}"]))
            ids.append(
                ident(
                    f"{zone}-write",
                    f"{zone}-write",
                    [f"Read:{bucket}", f"List:{bucket}", f"Write:{bucket}", f"Tagging:{bucket}"],
                )
            )
        # Keys carry hyphens (zone names), so the Go template reads them with `index`.
        return re.sub(r"@@([A-Za-z0-9_.-]+)@@", r'{{ index . "\1" }}', json.dumps({"identities": ids}, sort_keys=True))

    def _bucket_job(self, spec: DataLake, *, depends_on: list) -> Manifest:
        lines = ["set -eu"]
        for zone, bucket in [*self.zones.items(), ("", self.artifacts_bucket)]:
            rules: list[dict[str, Any]] = [
                {
                    "ID": "noncurrent",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": spec.noncurrent_version_days},
                }
            ]
            if zone in spec.retention_days:
                rules.append(
                    {
                        "ID": "retention",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "Expiration": {"Days": spec.retention_days[zone]},
                    }
                )
            lifecycle = json.dumps({"Rules": rules}, sort_keys=True)
            encryption = json.dumps({"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
            block = "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"
            status = "Enabled" if spec.versioning else "Suspended"
            lines += [
                f"aws s3api head-bucket --bucket {bucket} || aws s3api create-bucket --bucket {bucket}",
                f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status={status}",
                f"aws s3api put-bucket-encryption --bucket {bucket} --server-side-encryption-configuration '{encryption}'",
                f"aws s3api put-bucket-lifecycle-configuration --bucket {bucket} --lifecycle-configuration '{lifecycle}'",
                f"aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration {block}"
                " || echo 'endpoint has no public access block: buckets are private unless a policy opens them'",
                f"aws s3api delete-bucket-policy --bucket {bucket} || true",
            ]
        restricted = {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        container = {
            "name": "aws",
            "image": AWS_CLI_IMAGE,
            "command": ["/bin/sh", "-c"],
            "args": ["\n".join(lines)],
            "envFrom": [{"secretRef": {"name": "lake-admin"}}],
            "env": [{"name": "HOME", "value": "/tmp"}, {"name": "AWS_DEFAULT_REGION", "value": "us-east-1"}],
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
            "securityContext": restricted,
        }
        return manifest(
            self,
            "buckets",
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "lake-buckets", "namespace": self.namespace, "labels": self.baseline.labels},
                "spec": {
                    "backoffLimit": 6,
                    "template": {
                        "metadata": {"labels": {"app.kubernetes.io/name": "lake-buckets"}},
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "automountServiceAccountToken": False,
                            "containers": [container],
                            "volumes": [{"name": "tmp", "emptyDir": {}}],
                        },
                    },
                },
            },
            depends_on=depends_on,
        )

    def grant(self, principal: Principal, *, read: list[str], write: list[str], id: str) -> None:
        """`principal` may get the read credentials of each zone in `read` and the write credentials of
        each zone in `write` (a Role on exactly those Secrets in the data namespace); the store itself
        grants those credentials that bucket only. Unknown zones are refused; no zones: nothing."""
        unknown = [z for z in (*read, *write) if z not in self.zones]
        if unknown:
            raise ValueError(f"lake grant {id!r}: unknown zones {unknown}; zones: {', '.join(self.zones)}")
        names = [self.credentials[(z, "read")] for z in read if z not in write]
        names += [self.credentials[(z, "write")] for z in write]
        if not names:
            return
        self.baseline.grant(
            self,
            id,
            namespace=self.namespace,
            principal=principal,
            rules=[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": sorted(names)}],
        )


def _port(url: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or 443
