"""Resource names: a prefix (`<blueprint>-<env>`) plus a logical name, no random suffixes.

Each function returns the name or raises `NameRuleError` with the rule that was
broken, so the validator can point at the field that produced the name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


class NameRuleError(ValueError):
    pass


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def aws_bucket(name: str) -> str:
    """S3 bucket naming rules (general purpose buckets)."""
    if not 3 <= len(name) <= 63:
        raise NameRuleError(f"S3 bucket name {name!r} is {len(name)} characters; S3 allows 3 to 63")
    if not _BUCKET.match(name):
        raise NameRuleError(
            f"S3 bucket name {name!r} may hold only lowercase letters, digits, dots and hyphens, "
            "and must start and end with a letter or digit"
        )
    if ".." in name or _IP.match(name) or name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        raise NameRuleError(f"S3 bucket name {name!r} breaks an S3 reserved-pattern rule (.., IP form, xn--, -s3alias)")
    return name


# Persona slugs in GCP service-account ids (ids are at most 30 characters).
PERSONA_SLUGS: dict[str, str] = {"data_engineers": "data-eng", "data_scientists": "data-sci",
                                 "ml_engineers": "ml-eng", "app_consumers": "apps"}
# Service accounts the GCP platform itself runs as (beside the personas).
GCP_WORKLOAD_ACCOUNTS: tuple[str, ...] = ("gke-nodes", "trainer", "serving")

_GCS = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
_SA = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")


def gcs_bucket(name: str) -> str:
    """Cloud Storage bucket naming rules (names without dots)."""
    if not 3 <= len(name) <= 63:
        raise NameRuleError(f"GCS bucket name {name!r} is {len(name)} characters; Cloud Storage allows 3 to 63")
    if not _GCS.match(name):
        raise NameRuleError(f"GCS bucket name {name!r} may hold only lowercase letters, digits, hyphens, underscores "
                            "and dots, and must start and end with a letter or digit")
    if name.startswith("goog") or "google" in name or "g00gle" in name or _IP.match(name):
        raise NameRuleError(f"GCS bucket name {name!r} breaks a Cloud Storage reserved rule (goog prefix, google, IP form)")
    return name


def gcp_service_account(account_id: str) -> str:
    """Service account ids: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter."""
    if not 6 <= len(account_id) <= 30:
        raise NameRuleError(f"GCP service account id {account_id!r} is {len(account_id)} characters; GCP allows 6 to 30 "
                            "(shorten metadata.name or the environment name)")
    if not _SA.match(account_id):
        raise NameRuleError(f"GCP service account id {account_id!r} must start with a letter and hold only lowercase "
                            "letters, digits and hyphens")
    return account_id


def vertex_endpoint_id(display_name: str) -> str:
    """Vertex AI endpoint ids are numeric (at most 10 digits, no leading zero). Derived from the
    endpoint's name, so the same blueprint always names the same endpoint (no random suffix)."""
    return str(1_000_000_000 + int(hashlib.sha256(display_name.encode()).hexdigest(), 16) % 9_000_000_000)


def bounded(name: str, limit: int, what: str, pattern: str = r"^[A-Za-z0-9][A-Za-z0-9-]*$") -> str:
    if len(name) > limit:
        raise NameRuleError(f"{what} name {name!r} is {len(name)} characters; the limit is {limit}")
    if not re.match(pattern, name):
        raise NameRuleError(f"{what} name {name!r} does not match {pattern}")
    return name


@dataclass(frozen=True)
class Naming:
    """Names for one environment of one blueprint: `<blueprint>-<env>-<logical>`."""

    blueprint: str
    env: str

    @property
    def prefix(self) -> str:
        return f"{self.blueprint}-{self.env}"

    def name(self, *parts: str) -> str:
        return "-".join((self.prefix, *parts))

    def bucket(self, *parts: str) -> str:
        return aws_bucket(self.name(*parts))

    def glue_database(self, db: str) -> str:
        return bounded(f"{self.prefix.replace('-', '_')}_{db}", 255, "Glue database", r"^[a-z0-9_]+$")

    def iam_role(self, *parts: str) -> str:
        return bounded(self.name(*parts), 64, "IAM role", r"^[A-Za-z0-9+=,.@_-]+$")

    def sagemaker(self, *parts: str) -> str:
        return bounded(self.name(*parts), 63, "SageMaker")

    def ecr_repository(self, model: str) -> str:
        return bounded(f"{self.prefix}/{model}", 256, "ECR repository", r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")

    def state_bucket(self, override: str | None = None, cloud: str = "aws") -> str:
        name = override or self.name("tfstate")
        return gcs_bucket(name) if cloud == "gcp" else aws_bucket(name)

    # GCP
    def gcs_bucket(self, *parts: str) -> str:
        return gcs_bucket(self.name(*parts))

    def service_account(self, *parts: str) -> str:
        return gcp_service_account(self.name(*parts))

    def gke(self, *parts: str) -> str:
        """GKE cluster and node pool names: 40 characters, lowercase letters, digits, hyphens."""
        return bounded(self.name(*parts), 40, "GKE", r"^[a-z](?:[-a-z0-9]*[a-z0-9])?$")

    def gcp_id(self, *parts: str, what: str = "GCP resource", limit: int = 63) -> str:
        """Ids of Artifact Registry repositories, Dataplex lakes/zones/assets, KMS keys, metadata stores."""
        return bounded(self.name(*parts), limit, what, r"^[a-z](?:[-a-z0-9]*[a-z0-9])?$")

    def underscored(self, *parts: str, what: str = "BigQuery dataset", limit: int = 1024) -> str:
        return bounded("_".join((self.prefix, *parts)).replace("-", "_"), limit, what, r"^[a-z][a-z0-9_]*$")

    def lock_table(self, override: str | None = None) -> str:
        return bounded(override or self.name("tflock"), 255, "DynamoDB table", r"^[A-Za-z0-9_.-]+$")
