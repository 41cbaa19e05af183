"""Packs: which rules a blueprint is held to. Rules stay separate from packs (cdk-nag's NagPack).

Each pack names its rules one by one: a new rule is in no pack until a pack names it, and a test
fails while a registered rule belongs to no pack. A blueprint picks its packs in `policies.packs`
(default: baseline); the gate enforces the union of their rules, each at its own severity.

- `baseline`: the rules every platform is held to.
- `regulated`: stricter rules for regulated data (customer-managed keys on secrets and, on Azure,
  everywhere; private endpoints everywhere; private online endpoints; audit trails: S3 data events in
  CloudTrail, Data Access audit logs for Cloud Storage and BigQuery, VPC flow logs); a regulated
  blueprint names both packs.

checkov's built-in checks run in every pack; those a pack does not enforce are listed with the
reason, and every report shows that list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlops_blueprint.blueprints.errors import UserError


@dataclass(frozen=True)
class Pack:
    name: str
    rules: tuple[str, ...]
    checkov_not_enforced: Mapping[str, str] = field(default_factory=dict)  # check id -> why not


BASELINE = Pack(
    name="baseline",
    rules=(
        # blueprint rules
        "MLOPS_BP_001",
        "MLOPS_BP_002",
        "MLOPS_BP_003",
        "MLOPS_BP_004",
        "MLOPS_BP_005",
        "MLOPS_BP_006",
        "MLOPS_BP_007",
        # AWS resource rules
        "MLOPS_AWS_001",
        "MLOPS_AWS_002",
        "MLOPS_AWS_003",
        "MLOPS_AWS_004",
        "MLOPS_AWS_005",
        "MLOPS_AWS_006",
        "MLOPS_AWS_007",
        "MLOPS_AWS_008",
        "MLOPS_AWS_009",
        "MLOPS_AWS_010",
        "MLOPS_AWS_011",
        "MLOPS_AWS_012",
        "MLOPS_AWS_013",
        "MLOPS_AWS_014",
        "MLOPS_AWS_015",
        "MLOPS_AWS_016",
        "MLOPS_AWS_017",
        "MLOPS_AWS_018",
        "MLOPS_AWS_019",
        "MLOPS_AWS_020",
        "MLOPS_AWS_021",
        "MLOPS_AWS_022",
        "MLOPS_AWS_023",
        "MLOPS_AWS_024",
        "MLOPS_AWS_025",
        "MLOPS_AWS_026",
        "MLOPS_AWS_029",
        "MLOPS_AWS_030",
        # GCP resource rules (018 and 022 are in regulated)
        "MLOPS_GCP_001",
        "MLOPS_GCP_002",
        "MLOPS_GCP_003",
        "MLOPS_GCP_004",
        "MLOPS_GCP_005",
        "MLOPS_GCP_006",
        "MLOPS_GCP_007",
        "MLOPS_GCP_008",
        "MLOPS_GCP_009",
        "MLOPS_GCP_010",
        "MLOPS_GCP_011",
        "MLOPS_GCP_012",
        "MLOPS_GCP_013",
        "MLOPS_GCP_014",
        "MLOPS_GCP_015",
        "MLOPS_GCP_016",
        "MLOPS_GCP_017",
        "MLOPS_GCP_019",
        "MLOPS_GCP_020",
        "MLOPS_GCP_021",
        "MLOPS_GCP_023",
        "MLOPS_GCP_024",
        "MLOPS_GCP_027",
        # Azure resource rules (025, 032 and 033 are in regulated)
        "MLOPS_AZ_001",
        "MLOPS_AZ_002",
        "MLOPS_AZ_003",
        "MLOPS_AZ_004",
        "MLOPS_AZ_005",
        "MLOPS_AZ_006",
        "MLOPS_AZ_007",
        "MLOPS_AZ_008",
        "MLOPS_AZ_009",
        "MLOPS_AZ_010",
        "MLOPS_AZ_011",
        "MLOPS_AZ_012",
        "MLOPS_AZ_013",
        "MLOPS_AZ_014",
        "MLOPS_AZ_015",
        "MLOPS_AZ_016",
        "MLOPS_AZ_017",
        "MLOPS_AZ_018",
        "MLOPS_AZ_019",
        "MLOPS_AZ_020",
        "MLOPS_AZ_021",
        "MLOPS_AZ_022",
        "MLOPS_AZ_023",
        "MLOPS_AZ_024",
        "MLOPS_AZ_026",
        "MLOPS_AZ_027",
        "MLOPS_AZ_028",
        "MLOPS_AZ_029",
        "MLOPS_AZ_030",
        "MLOPS_AZ_031",
        "MLOPS_AZ_034",
        # on-prem Kubernetes resource rules (011 is in regulated)
        "MLOPS_K8S_001",
        "MLOPS_K8S_002",
        "MLOPS_K8S_003",
        "MLOPS_K8S_004",
        "MLOPS_K8S_005",
        "MLOPS_K8S_006",
        "MLOPS_K8S_007",
        "MLOPS_K8S_008",
        "MLOPS_K8S_009",
        "MLOPS_K8S_010",
        "MLOPS_K8S_012",
        "MLOPS_K8S_013",
        "MLOPS_K8S_014",
        "MLOPS_K8S_015",
        "MLOPS_K8S_016",
        "MLOPS_K8S_017",
        "MLOPS_K8S_018",
        "MLOPS_K8S_019",
        "MLOPS_K8S_020",
        # change rules
        "MLOPS_CHG_001",
    ),
    checkov_not_enforced={
        "CKV_AWS_144": "cross-region replication is a disaster-recovery decision, made per program, not per platform",
        "CKV_AWS_18": "S3 server access logs go to a central log archive account outside this blueprint",
        "CKV2_AWS_62": "bucket event notifications are added by pipelines that consume them",
        "CKV2_AWS_57": "the shared-connections secret holds third-party credentials rotated by their owners",
        "CKV2_AWS_12": "the default security group is unused: every workload gets an explicit group",
        "CKV2_AWS_10": "the trail delivers to its object-locked, KMS-encrypted S3 bucket (MLOPS_AWS_031); streaming "
        "every S3 data event into CloudWatch Logs as well would bill ingestion for each object read",
        "CKV_AWS_252": "nothing consumes per-log-file delivery notifications; the trail's health is checked by `verify` "
        "(get_trail_status)",
        "CKV_AWS_394": "availability zones are selected by the provider, pinned by subnet CIDR order",
        "CKV_AWS_195": "crawlers read encrypted buckets through their role; Glue security configurations come with ETL jobs",
        "CKV_AWS_37": "control-plane logs: api, audit and authenticator are on; scheduler and controllerManager are noise",
        "CKV_AWS_98": "it demands kms_key_arn on every endpoint configuration, but SageMaker refuses a key on instance "
        "types with local instance storage (ml.g5, ml.g4dn, ...: the hardware encrypts it, the call fails with a key); "
        "MLOPS_AWS_019 demands the key on every other instance type (checkov 3.3 reads no per-resource skip in "
        "terraform_json)",
        "CKV2_GCP_33": "endpoints are private through Private Service Connect, which this check does not read "
        "(it looks for VPC peering); MLOPS_GCP_018 checks both",
        "CKV_GCP_12": "network policy is enforced by GKE Dataplane V2 (ADVANCED_DATAPATH), which this check does not read",
        "CKV_GCP_62": "bucket access is recorded by Data Access audit logs, routed to the organisation's log sink",
        "CKV_GCP_65": "Google Groups for RBAC needs the organisation's gke-security-groups domain, set per organisation",
        "CKV_GCP_82": "keys get prevent_destroy where the environment protects stateful resources (protect_stateful); "
        "the data-loss guard (MLOPS_CHG_001) blocks their destruction in every environment",
        "CKV_AZURE_164": "ACR content trust (Docker Content Trust) is not supported on registries encrypted with a "
        "customer-managed key, and Microsoft is retiring it; images are pushed once per tag by rollout",
        "CKV_AZURE_165": "geo-replication of the registry is a disaster-recovery decision, made per program (as CKV_AWS_144)",
        "CKV_AZURE_206": "accounts are zone-redundant (ZRS); geo-replication is a per-program disaster-recovery decision",
        "CKV_AZURE_168": "Azure CNI overlay gives every node 250 pods by default; the check reads only an explicit max_pods",
        "CKV_AZURE_172": "the Key Vault secrets provider add-on is off: pods read Key Vault through workload identity "
        "(MLOPS_AZ_017), so there are no CSI-mounted secrets to rotate",
        "CKV_AZURE_226": "the system pool keeps managed OS disks so the customer-managed key applies through the disk "
        "encryption set (MLOPS_AZ_033), with encryption at host for caches and temp disks",
        "CKV_AZURE_33": "classic Storage Analytics queue logging needs shared keys, which are off (MLOPS_AZ_002); "
        "resource logs go to Log Analytics through diagnostic settings (MLOPS_AZ_031)",
        "CKV_AZURE_40": "key versions expire through the rotation policy (expire_after P2Y, a new version every 90 days, "
        "MLOPS_AZ_011); a fixed expiration_date would stop the key at a hard-coded date",
        "CKV_AZURE_59": "the lake sets public_network_access = Disabled, the successor of public_network_access_enabled "
        "that this check reads; MLOPS_AZ_003 reads both spellings",
    },
)

REGULATED = Pack(
    name="regulated",
    rules=(
        "MLOPS_AWS_027",
        "MLOPS_AWS_028",
        "MLOPS_AWS_031",
        "MLOPS_AWS_032",
        "MLOPS_GCP_018",
        "MLOPS_GCP_022",
        "MLOPS_GCP_025",
        "MLOPS_GCP_026",
        "MLOPS_AZ_025",
        "MLOPS_AZ_032",
        "MLOPS_AZ_033",
        "MLOPS_K8S_011",
    ),
)

PACKS: dict[str, Pack] = {p.name: p for p in (BASELINE, REGULATED)}


class UnknownPack(UserError):
    """A pack name no pack has (bad input: exit 2)."""


def resolve(packs: list[str]) -> tuple[set[str], dict[str, str]]:
    """The rule ids the packs enforce, and the checkov checks they do not enforce (with reasons)."""
    rules: set[str] = set()
    skips: dict[str, str] = {}
    for p in packs:
        if p not in PACKS:
            raise UnknownPack(f"unknown policy pack {p!r}; available: {', '.join(PACKS)}")
        rules |= set(PACKS[p].rules)
        skips.update(PACKS[p].checkov_not_enforced)
    return rules, skips
