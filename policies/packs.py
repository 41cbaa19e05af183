"""Packs: which rules a blueprint is held to. Rules stay separate from packs.

`baseline` is every rule marked baseline; `regulated` adds stricter rules and treats medium as blocking.
checkov's built-in checks run in every pack; those a pack does not enforce are listed with the reason,
and every report shows that list.
"""

from __future__ import annotations

PACKS: dict[str, dict] = {
    "baseline": {
        "rules": [f"MLOPS_BP_{i:03d}" for i in range(1, 7)]
        + [f"MLOPS_AWS_{i:03d}" for i in range(1, 27)]
        + [f"MLOPS_GCP_{i:03d}" for i in range(1, 25) if i not in (18, 22)] + ["MLOPS_CHG_001"],
        "checkov_not_enforced": {
            "CKV_AWS_144": "cross-region replication is a disaster-recovery decision, made per program, not per platform",
            "CKV_AWS_18": "S3 server access logs go to a central log archive account outside this blueprint",
            "CKV2_AWS_62": "bucket event notifications are added by pipelines that consume them",
            "CKV2_AWS_57": "the shared-connections secret holds third-party credentials rotated by their owners",
            "CKV2_AWS_11": "VPC flow logs are collected by the organisation's network account",
            "CKV2_AWS_12": "the default security group is unused: every workload gets an explicit group",
            "CKV_AWS_394": "availability zones are selected by the provider, pinned by subnet CIDR order",
            "CKV_AWS_195": "crawlers read encrypted buckets through their role; Glue security configurations come with ETL jobs",
            "CKV_AWS_37": "control-plane logs: api, audit and authenticator are on; scheduler and controllerManager are noise",
            "CKV2_GCP_33": "endpoints are private through Private Service Connect, which this check does not read "
                           "(it looks for VPC peering); MLOPS_GCP_018 checks both",
            "CKV_GCP_12": "network policy is enforced by GKE Dataplane V2 (ADVANCED_DATAPATH), which this check does not read",
            "CKV_GCP_62": "bucket access is recorded by Data Access audit logs, routed to the organisation's log sink",
            "CKV_GCP_65": "Google Groups for RBAC needs the organisation's gke-security-groups domain, set per organisation",
            "CKV_GCP_82": "keys get prevent_destroy where the environment protects stateful resources (protect_stateful); "
                          "the data-loss guard (MLOPS_CHG_001) blocks their destruction in every environment",
        },
    },
    "regulated": {
        "rules": ["MLOPS_AWS_027", "MLOPS_AWS_028", "MLOPS_GCP_018", "MLOPS_GCP_022"],
        "checkov_not_enforced": {},
    },
}


class UnknownPack(ValueError):
    pass


def resolve(packs: list[str]) -> tuple[set[str], dict[str, str]]:
    """The rule ids the packs enforce, and the checkov checks they do not enforce (with reasons)."""
    rules: set[str] = set()
    skips: dict[str, str] = {}
    for p in packs:
        if p not in PACKS:
            raise UnknownPack(f"unknown policy pack {p!r}; available: {', '.join(PACKS)}")
        rules |= set(PACKS[p]["rules"])
        skips.update(PACKS[p]["checkov_not_enforced"])
    return rules, skips
