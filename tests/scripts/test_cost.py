"""The offline cost estimate: exact lines and totals from the shipped price file, and MLOPS_BP_007."""

import json
import subprocess
import sys

import pytest

from mlops_blueprint.blueprints import cost, load, loads
from mlops_blueprint.policies.engine import all_rules, run_rule
from mlops_blueprint.policies.packs import BASELINE
from tests.conftest import MINIMAL, REFERENCE, ROOT

STARTER = ROOT / "blueprints/reference/starter.yaml"


def test_price_file_records_date_source_and_every_catalog_machine():
    from mlops_blueprint.blueprints import registry

    book = cost.price_book()
    assert book["date"] == "2026-11-15" and book["currency"] == "USD" and book["hours_per_month"] == 730
    assert set(book["source"]) == {"aws", "gcp", "azure", "onprem"}
    for name in ("aws", "gcp", "azure"):
        cat = registry.get(name).catalog
        for cls, table in book["prices"][name].items():
            machines = {m for per in cat.training.values() for m in per.values()}
            assert machines <= set(table["compute"]), (name, cls, machines - set(table["compute"]))
            assert set(cat.serving.values()) <= set(table["serving"]), (name, cls)
            assert all(p["spot"] < p["on_demand"] for p in table["compute"].values())
        for region in cat.regions:
            cost.region_class(name, region)  # every supported region has a class


def test_starter_dev_lines_exactly():
    e = load(STARTER).envs["dev"]
    est = cost.estimate_env(e)
    assert (est.cloud, est.region, est.region_class) == ("aws", "eu-central-1", "eu")
    lines = {x.item: (x.component, x.min_usd, x.max_usd) for x in est.lines}
    assert cost.price_book()["prices"]["aws"]["eu"]["compute"]["g6.xlarge"] == {"on_demand": 0.8853, "spot": 0.3098}
    assert lines["pool gpu-a: g6.xlarge spot x 0-1 nodes"] == ("training", 0.0, 226.15)  # 0.3098 x 730 h
    assert lines["endpoint fraud-api: ml.m5.xlarge x 1-4 replicas"] == ("serving", 184.69, 738.76)
    assert lines["EKS control plane"] == ("training", 80.3, 80.3)
    assert lines["interface VPC endpoints (9 services, one ENI per zone; no NAT gateway)"] == (
        "baseline",
        144.54,  # 0.011 x 9 x 2 zones x 730 h
        144.54,
    )
    assert lines["KMS customer-managed keys (data, ml, ops)"] == ("baseline", 3.3, 3.3)
    assert lines["lake storage (3 zones x 100 GB assumed)"] == ("data_lake", 7.59, 7.59)
    assert lines["Glue crawler (daily, 2 DPU x 10 min assumed)"] == ("catalog", 9.68, 9.68)
    assert (est.min_usd, est.max_usd) == (439.39, 1237.21)
    assert est.budget_usd == 1000 and est.budget_status == "ok" and est.fail_above_usd == 1800.0


def test_spot_is_cheaper_and_max_counts_max_nodes():
    spot = loads(MINIMAL.replace("max_nodes: 2}", "max_nodes: 2, spot: true}")).envs["dev"]
    on_demand = loads(MINIMAL).envs["dev"]
    [s] = [x for x in cost.estimate_env(spot).lines if x.item.startswith("pool gpu: g5")]
    [o] = [x for x in cost.estimate_env(on_demand).lines if x.item.startswith("pool gpu: g5")]
    assert s.item == "pool gpu: g5.xlarge spot x 0-2 nodes" and o.item == "pool gpu: g5.xlarge on-demand x 0-2 nodes"
    assert o.max_usd == round(1.1066 * 730 * 2, 2) and s.max_usd == round(0.3873 * 730 * 2, 2)
    assert o.min_usd == s.min_usd == 0


def test_budget_status_levels():
    text = MINIMAL.replace(
        "environments:", "baseline: {budget: {monthly_limit_usd: LIMIT, alert_at_percent: 50}}\nenvironments:"
    )
    assert cost.estimate_env(loads(text.replace("LIMIT", "5000")).envs["dev"]).budget_status == "ok"
    est = cost.estimate_env(loads(text.replace("LIMIT", "250")).envs["dev"])
    assert est.min_usd == 423.44 and est.budget_status == "fail"  # > 250 x 1.5
    est = cost.estimate_env(loads(text.replace("LIMIT", "350")).envs["dev"])
    assert est.budget_status == "warn"  # > 350, <= 525


def test_rule_bp_007_warns_passes_and_fails():
    rule = all_rules()["MLOPS_BP_007"]
    assert (rule.severity, rule.layer) == ("high", "blueprint") and "MLOPS_BP_007" in BASELINE.rules
    text = MINIMAL.replace(
        "environments:", "baseline: {budget: {monthly_limit_usd: LIMIT, alert_at_percent: 50}}\nenvironments:"
    )
    [f] = run_rule(rule, str, loads(text.replace("LIMIT", "350")).envs["dev"].blueprint, "dev")
    assert f.passed and f.message == "warning: estimated minimum 423.44 USD/month exceeds the budget 350 USD"
    [f] = run_rule(rule, str, loads(text.replace("LIMIT", "250")).envs["dev"].blueprint, "dev")
    assert not f.passed and f.address == "baseline.budget.monthly_limit_usd"
    assert f.message.startswith("estimated minimum 423.44 USD/month exceeds the budget 250 USD by more than 50 %")
    [f] = run_rule(rule, str, loads(text.replace("LIMIT", "5000")).envs["dev"].blueprint, "dev")
    assert f.passed and f.message == ""


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.stem)
def test_every_reference_fits_its_budget(path):
    for e in load(path).envs.values():
        est = cost.estimate_env(e)
        assert est.budget_status == ("none" if est.owned else "ok"), (path.stem, e.name)  # owned: no budget


def test_cli_cost_json_and_table():
    cmd = [sys.executable, "-m", "mlops_blueprint.scripts.cli", "cost", str(STARTER)]
    p = subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert sorted(doc) == ["dev", "prod"]
    assert (doc["dev"]["min_usd"], doc["dev"]["max_usd"], doc["dev"]["budget_status"]) == (439.39, 1237.21, "ok")
    assert (doc["prod"]["min_usd"], doc["prod"]["budget_usd"]) == (624.08, 5000)
    assert doc["dev"]["components"]["serving"] == {"min_usd": 184.69, "max_usd": 738.76}
    p = subprocess.run(
        [*cmd, "--env", "prod"], capture_output=True, text=True, cwd=ROOT, env={"COLUMNS": "200", "PATH": ""}
    )
    assert p.returncode == 0, p.stderr
    assert "prod: aws eu-central-1 (eu prices of 2026-11-15), USD per month" in " ".join(p.stdout.split())
    assert "within budget: minimum 624 vs budget 5,000 (MLOPS_BP_007 fails above 9,000)" in p.stdout


def test_the_price_file_counts_every_interface_endpoint_the_baseline_makes():
    from mlops_blueprint.modules.baseline.aws import INTERFACE_ENDPOINTS

    for cls, table in cost.price_book()["prices"]["aws"].items():
        [item] = [fx for fx in table["fixed"] if fx["item"].startswith("interface VPC endpoints")]
        assert item["count"] == len(INTERFACE_ENDPOINTS), cls
        assert f"({len(INTERFACE_ENDPOINTS)} services" in item["item"], cls
