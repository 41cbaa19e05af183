"""Packs name their rules one by one; every rule is in a pack; unknown packs are user errors."""

import pytest

from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.policies.engine import all_rules
from mlops_blueprint.policies.packs import PACKS, UnknownPack, resolve


def test_every_pack_names_only_known_rules():
    known = set(all_rules())
    for pack in PACKS.values():
        assert set(pack.rules) <= known, pack.name
        assert len(pack.rules) == len(set(pack.rules)), f"{pack.name} names a rule twice"


def test_every_rule_belongs_to_a_pack():
    """A new rule is in no pack until a pack names it (cdk-nag's NagPack): add its id to a pack."""
    in_a_pack = {rid for pack in PACKS.values() for rid in pack.rules}
    assert sorted(set(all_rules()) - in_a_pack) == []


def test_pack_membership():
    aws = [f"MLOPS_AWS_{i:03d}" for i in (*range(1, 27), 29, 30)]
    gcp = [f"MLOPS_GCP_{i:03d}" for i in (*range(1, 25), 27) if i not in (18, 22)]
    azure = [f"MLOPS_AZ_{i:03d}" for i in range(1, 35) if i not in (25, 32, 33)]
    bp = [f"MLOPS_BP_{i:03d}" for i in range(1, 8)]
    k8s = [f"MLOPS_K8S_{i:03d}" for i in range(1, 21) if i != 11]
    assert set(PACKS["baseline"].rules) == {*bp, *aws, *gcp, *azure, *k8s, "MLOPS_CHG_001"}
    assert set(PACKS["regulated"].rules) == {
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
    }


def test_resolve_unions_rules_and_checkov_exclusions():
    rules, skips = resolve(["baseline", "regulated"])
    assert rules == set(PACKS["baseline"].rules) | set(PACKS["regulated"].rules)
    assert skips == dict(PACKS["baseline"].checkov_not_enforced)


def test_an_unknown_pack_is_a_user_error_with_exit_2():
    with pytest.raises(UnknownPack, match="unknown policy pack 'strictest'; available: baseline, regulated") as info:
        resolve(["strictest"])
    assert isinstance(info.value, UserError) and info.value.exit_code == 2
