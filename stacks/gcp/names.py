"""Google Cloud physical names, computed once: the modules, `verify`, `rollout` and the validator use these."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from mlops_blueprint.blueprints.naming import NameRuleError, Naming, bounded

if TYPE_CHECKING:
    from mlops_blueprint.blueprints.model import Blueprint

# Persona slugs in service-account ids (ids are at most 30 characters).
PERSONA_SLUGS: dict[str, str] = {
    "data_engineers": "data-eng",
    "data_scientists": "data-sci",
    "ml_engineers": "ml-eng",
    "app_consumers": "apps",
}
# The untainted node pool the platform adds to every GKE cluster for kube-dns, metrics-server, Kueue:
# GKE node pool names share one namespace per cluster, so no training pool may take its name.
SYSTEM_POOL = "system"
# Service accounts the platform itself runs as (beside the personas).
WORKLOAD_ACCOUNTS: tuple[str, ...] = ("gke-nodes", "trainer", "serving")

_GCS = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
_SA = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def gcs_bucket(name: str) -> str:
    """Cloud Storage bucket naming rules (names without dots)."""
    if not 3 <= len(name) <= 63:
        raise NameRuleError(f"GCS bucket name {name!r} is {len(name)} characters; Cloud Storage allows 3 to 63")
    if not _GCS.match(name):
        raise NameRuleError(
            f"GCS bucket name {name!r} may hold only lowercase letters, digits, hyphens, underscores "
            "and dots, and must start and end with a letter or digit"
        )
    if name.startswith("goog") or "google" in name or "g00gle" in name or _IP.match(name):
        raise NameRuleError(
            f"GCS bucket name {name!r} breaks a Cloud Storage reserved rule (goog prefix, google, IP form)"
        )
    return name


def gcp_service_account(account_id: str) -> str:
    """Service account ids: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter."""
    if not 6 <= len(account_id) <= 30:
        raise NameRuleError(
            f"GCP service account id {account_id!r} is {len(account_id)} characters; GCP allows 6 to 30 "
            "(shorten metadata.name or the environment name)"
        )
    if not _SA.match(account_id):
        raise NameRuleError(
            f"GCP service account id {account_id!r} must start with a letter and hold only lowercase "
            "letters, digits and hyphens"
        )
    return account_id


def vertex_endpoint_id(display_name: str) -> str:
    """Vertex AI endpoint ids are numeric (at most 10 digits, no leading zero). Derived from the
    endpoint's name, so the same blueprint always names the same endpoint (no random suffix)."""
    return str(1_000_000_000 + int(hashlib.sha256(display_name.encode()).hexdigest(), 16) % 9_000_000_000)


class GcpNames(Naming):
    """`<blueprint>-<env>-<logical>` within Cloud Storage, IAM, GKE and resource-id rules."""

    def gcs_bucket(self, *parts: str) -> str:
        return gcs_bucket(self.name(*parts))

    def service_account(self, *parts: str) -> str:
        return gcp_service_account(self.name(*parts))

    def gke(self, *parts: str) -> str:
        """GKE cluster and node pool names: 40 characters, lowercase letters, digits, hyphens."""
        return bounded(self.name(*parts), 40, "GKE", r"^[a-z](?:[-a-z0-9]*[a-z0-9])?$")

    def gke_pool(self, pool: str) -> str:
        """The GKE node pool of a training pool: `gke(pool)`, never the platform's system pool's name."""
        if pool == SYSTEM_POOL:
            raise NameRuleError(
                f"GKE node pool name {pool!r} is taken by the platform's system node pool (kube-dns, "
                f"metrics-server, Kueue); a training pool may not be named {SYSTEM_POOL!r}"
            )
        return self.gke(pool)

    def gcp_id(self, *parts: str, what: str = "GCP resource", limit: int = 63) -> str:
        """Ids of Artifact Registry repositories, Dataplex lakes/zones/assets, KMS keys, metadata stores."""
        return bounded(self.name(*parts), limit, what, r"^[a-z](?:[-a-z0-9]*[a-z0-9])?$")

    def underscored(self, *parts: str, what: str = "BigQuery dataset", limit: int = 1024) -> str:
        return bounded("_".join((self.prefix, *parts)).replace("-", "_"), limit, what, r"^[a-z][a-z0-9_]*$")

    # The names more than one place needs.
    @property
    def key_ring(self) -> str:
        return self.gcp_id("keys", what="KMS key ring")

    def key_path(self, project: str, region: str, purpose: str) -> str:
        return f"projects/{project}/locations/{region}/keyRings/{self.key_ring}/cryptoKeys/{purpose}"

    @property
    def artifacts_bucket(self) -> str:
        return self.gcs_bucket("model-artifacts")

    @property
    def metadata_store(self) -> str:
        return self.gcp_id("metadata", what="Vertex AI metadata store")

    def model_display_name(self, model: str) -> str:
        return self.name(model)

    @property
    def k8s_mirror(self) -> str:
        """The Artifact Registry remote repository mirroring registry.k8s.io for the cluster's nodes."""
        return self.gcp_id("k8s-mirror", what="Artifact Registry repository")

    def repository(self, model: str) -> str:
        return self.gcp_id(model, what="Artifact Registry repository")

    def endpoint_display_name(self, endpoint: str) -> str:
        return self.name(endpoint)

    def endpoint_id(self, endpoint: str) -> str:
        return vertex_endpoint_id(self.endpoint_display_name(endpoint))

    def serving_account_email(self, project: str) -> str:
        return f"{self.service_account('serving')}@{project}.iam.gserviceaccount.com"

    def persona_account(self, persona: str) -> str:
        return self.service_account(PERSONA_SLUGS[persona])

    def state_bucket(self, override: str | None = None) -> str:
        return gcs_bucket(override or self.name("tfstate"))


def name_checks(bp: Blueprint, n: Naming) -> Iterator[tuple[tuple[str | int, ...], Callable[[], object]]]:
    assert isinstance(n, GcpNames)
    c = bp.components
    state = ("state", "bucket") if bp.state.bucket else ("metadata", "name")
    yield state, lambda: n.state_bucket(bp.state.bucket)
    for zone in c.data_lake.zones if c.data_lake else []:
        yield ("components", "data_lake", "zones"), lambda z=zone: n.gcs_bucket(z)  # type: ignore[misc]
    for slug in (*PERSONA_SLUGS.values(), *WORKLOAD_ACCOUNTS):
        yield ("metadata", "name"), lambda s=slug: n.service_account(s)  # type: ignore[misc]
    for pool in c.training.pools if c.training else {}:
        yield ("components", "training", "pools", pool), lambda p=pool: n.gke_pool(p)  # type: ignore[misc]
    if c.training:
        yield ("components", "training"), lambda: n.gke(SYSTEM_POOL)
    for model in c.registry.models if c.registry else []:
        yield ("components", "registry", "models"), lambda m=model: n.gcp_id(m)  # type: ignore[misc]
    yield ("metadata", "name"), lambda: n.artifacts_bucket
