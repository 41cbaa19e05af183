"""Every rule against its pass and fail fixture, asserted exactly; one rule per file."""

import json
from pathlib import Path

import pytest

from mlops_blueprint.blueprints import registry
from mlops_blueprint.policies.engine import ANY_TYPE, Rule, all_rules, run_rule
from mlops_blueprint.policies.rules_md import OUT, render
from mlops_blueprint.policies.tfjson import Doc

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "policies" / "fixtures"
RESOURCE_RULES = [r for r in all_rules().values() if r.layer == "resource"]


def test_pack_has_at_least_20_aws_8_gcp_and_20_azure_resource_rules_each_with_fixtures():
    assert len([r for r in RESOURCE_RULES if r.cloud == "aws"]) >= 20
    assert len([r for r in RESOURCE_RULES if r.cloud == "gcp"]) >= 8
    assert len([r for r in RESOURCE_RULES if r.cloud == "azure"]) >= 20
    for r in RESOURCE_RULES:
        folder = ROOT / r.cloud / r.id
        assert (folder / "pass.json").exists() and (folder / "fail.json").exists(), r.id


def test_gcp_rules_cover_lake_pools_registry_endpoints_iam_and_monitoring():
    categories = {r.category for r in RESOURCE_RULES if r.cloud == "gcp"}
    assert {"data_lake", "training", "registry", "serving", "iam", "monitoring"} <= categories


def test_azure_rules_cover_storage_vault_iam_network_aks_registry_serving_and_monitoring():
    categories = {r.category for r in RESOURCE_RULES if r.cloud == "azure"}
    assert {"data_lake", "baseline", "iam", "training", "registry", "serving", "monitoring"} <= categories


@pytest.mark.parametrize("rule", RESOURCE_RULES, ids=lambda r: r.id)
@pytest.mark.parametrize("kind", ["pass", "fail"])
def test_rule_fixture(rule, kind):
    data = json.loads((ROOT / rule.cloud / rule.id / f"{kind}.json").read_text())
    doc = Doc(data)
    findings = run_rule(rule, doc.subject, doc)
    assert not any(f.error for f in findings), [f.message for f in findings if f.error]
    failing = sorted(f.address for f in findings if not f.passed)
    assert failing == sorted(data["expect_fail"])
    assert any(f.passed for f in findings) or kind == "fail", "a pass fixture must exercise the rule"


@pytest.mark.parametrize("rule", RESOURCE_RULES, ids=lambda r: r.id)
def test_a_rule_reports_only_the_types_it_declares(rule):
    """The gate skips a rule on a stack holding none of its `applies_to` types; that is only sound
    when every finding the rule yields is about a resource of a declared type."""
    assert rule.applies_to, "a resource rule declares the types it reads"
    if ANY_TYPE in rule.applies_to:
        return
    for kind in ("pass", "fail"):
        doc = Doc(json.loads((ROOT / rule.cloud / rule.id / f"{kind}.json").read_text()))
        for f in run_rule(rule, doc.subject, doc):
            assert f.address.split(".")[0] in rule.applies_to, (kind, f.address)


def test_rule_ids_are_stable_and_unique_per_file():
    for cloud in registry.every():
        rules = sorted(r.id for r in RESOURCE_RULES if r.cloud == cloud.name)
        folder = REPO / Path(*cloud.rules_package.split(".")[1:])
        files = sorted(p.stem for p in folder.glob("r*.py"))
        areas = {r.split("_")[1] for r in rules}
        assert len(areas) <= 1, f"{cloud.name}'s rules use several id areas: {sorted(areas)}"
        area = areas.pop() if areas else cloud.name.upper()
        assert [f"MLOPS_{area}_{f[1:4]}" for f in files] == rules


def test_rules_md_is_current():
    assert OUT.read_text() == render(), "policies/RULES.md is stale: run `python -m mlops_blueprint.policies.rules_md`"


def test_registry_tag_immutability_is_not_asked_of_a_remote_repository():
    """MLOPS_GCP_015: a remote repository (the cluster's mirror of registry.k8s.io) caches its upstream's
    tags; the repositories teams push to still need immutable tags."""
    repos = {
        "mirror": {"mode": "REMOTE_REPOSITORY", "format": "DOCKER"},
        "pushed": {"mode": "STANDARD_REPOSITORY", "format": "DOCKER"},
        "pinned": {"mode": "STANDARD_REPOSITORY", "format": "DOCKER", "docker_config": {"immutable_tags": True}},
    }
    doc = Doc({"resource": {"google_artifact_registry_repository": repos}})
    findings = run_rule(all_rules()["MLOPS_GCP_015"], doc.subject, doc)
    verdicts = {f.address.rsplit(".", 1)[-1]: f.passed for f in findings}
    assert verdicts == {"pushed": False, "pinned": True}


def test_a_crashing_rule_fails_closed():
    def boom(doc):
        raise KeyError("oops")
        yield  # pragma: no cover

    [f] = run_rule(Rule("MLOPS_AWS_999", "x", "high", "t", "resource", boom, ("aws_s3_bucket",)), str, Doc({}))
    assert (f.passed, f.error) == (False, True) and "rule crashed: KeyError" in f.message


BP_FIXTURES = ROOT / "blueprint"
BLUEPRINT_RULES = [r for r in all_rules().values() if r.layer == "blueprint"]


@pytest.mark.parametrize("rule", BLUEPRINT_RULES, ids=lambda r: r.id)
@pytest.mark.parametrize("kind", ["pass", "fail"])
def test_blueprint_rule_fixture(rule, kind):
    from mlops_blueprint.blueprints import load

    path = BP_FIXTURES / rule.id / f"{kind}.yaml"
    lines = path.read_text().splitlines()
    env = lines[0].removeprefix("# env: ").strip()
    expect = [p.strip() for p in lines[1].removeprefix("# expect_fail:").split(",") if p.strip()]
    resolved = load(path).envs[env]
    findings = run_rule(rule, lambda a: a, resolved.blueprint, env)
    assert findings, "the fixture must exercise the rule"
    assert sorted(f.address for f in findings if not f.passed) == expect


def test_every_blueprint_rule_has_its_own_file():
    files = sorted(p.stem for p in (REPO / "policies/rules/blueprint").glob("r*.py"))
    assert [f"MLOPS_BP_{f[1:4]}" for f in files] == sorted(r.id for r in BLUEPRINT_RULES)


def test_every_change_rule_has_its_own_file():
    files = sorted(p.stem for p in (REPO / "policies/rules/change").glob("r*.py"))
    change_rules = sorted(r.id for r in all_rules().values() if r.layer == "change")
    assert [f"MLOPS_CHG_{f[1:4]}" for f in files] == change_rules == ["MLOPS_CHG_001"]
