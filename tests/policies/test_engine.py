"""The engine: registration, a rule's cloud from its folder, dispatch by applies_to, import direction."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_blueprint.blueprints import registry
from mlops_blueprint.policies import engine
from mlops_blueprint.policies.engine import all_rules, cloud_of_module, rule
from mlops_blueprint.policies.gate import resource_layer, resource_rules_for
from mlops_blueprint.policies.packs import resolve
from mlops_blueprint.policies.tfjson import Doc

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "policies" / "fixtures"
LAYER_OF_FOLDER = {"blueprint": "blueprint", "change": "change"}  # every other folder is a cloud's resource rules


@pytest.fixture
def fresh_registry(monkeypatch):
    """An empty rule registry, so that a test can register rules without touching the real one."""
    monkeypatch.setattr(engine, "_REGISTRY", {})
    return engine._REGISTRY


@pytest.mark.parametrize(
    "module, cloud",
    [
        ("mlops_blueprint.policies.rules.aws.r006_kms_keys_rotate", "aws"),
        ("mlops_blueprint.policies.rules.gcp.r001_buckets_use_a_cmk", "gcp"),
        ("mlops_blueprint.policies.rules.azure.r001_storage_accounts_use_a_cmk", "azure"),
        ("mlops_blueprint.policies.rules.blueprint.r002_region_allowed", None),
        ("mlops_blueprint.policies.rules.change.r001_no_unallowed_data_loss", None),
        ("tests.policies.test_engine", None),
    ],
)
def test_cloud_of_module(module, cloud):
    assert cloud_of_module(module) == cloud


def test_every_rule_lives_in_the_folder_of_its_layer_and_cloud():
    clouds = {c.name: c for c in registry.every()}
    for r in all_rules().values():
        folder = r.module.removeprefix(engine.RULES_PACKAGE + ".").split(".")[0]
        assert r.layer == LAYER_OF_FOLDER.get(folder, "resource"), (r.id, r.module)
        if r.layer == "resource":
            assert r.cloud in clouds and r.in_package(clouds[r.cloud].rules_package), (r.id, r.module)
        else:
            assert r.cloud is None, r.id


def test_each_cloud_numbers_its_rules_in_one_id_area_of_its_own():
    """MLOPS_AWS_NNN, MLOPS_GCP_NNN, MLOPS_AZ_NNN: one area per cloud, no area shared by two clouds."""
    areas: dict[str, set[str]] = {}
    for r in all_rules().values():
        if r.layer == "resource":
            areas.setdefault(r.cloud, set()).add(r.id.split("_")[1])
    assert all(len(a) == 1 for a in areas.values()), areas
    owners = [a.pop() for a in areas.values()]
    assert len(owners) == len(set(owners)), areas
    assert {"aws": "AWS", "gcp": "GCP", "azure": "AZ"}.items() <= {
        c: a for c, a in zip(areas, owners, strict=True)
    }.items()


def test_a_resource_rule_must_say_which_types_it_reads(fresh_registry):
    with pytest.raises(ValueError, match="MLOPS_AWS_998: a resource rule must name the resource types it reads"):
        rule(id="MLOPS_AWS_998", name="x", severity="high", category="t")(lambda d: iter(()))
    assert fresh_registry == {}
    rule(id="MLOPS_BP_998", name="x", severity="high", category="t", layer="blueprint")(lambda bp, env: iter(()))
    assert list(fresh_registry) == ["MLOPS_BP_998"]


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(id="AWS_1"), "rule id 'AWS_1' must look like MLOPS_<AREA>_<3 digits>"),
        (dict(severity="urgent"), "severity 'urgent' is not one of critical, high, medium, low"),
        (dict(layer="plan"), "layer 'plan' is not one of blueprint, resource, change"),
    ],
)
def test_registration_refuses_malformed_rules(fresh_registry, kwargs, error):
    spec = dict(id="MLOPS_AWS_997", name="x", severity="high", category="t", applies_to=("aws_s3_bucket",)) | kwargs
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")):
        rule(**spec)(lambda d: iter(()))


def test_a_duplicate_id_is_refused(fresh_registry):
    spec = dict(id="MLOPS_AWS_996", name="x", severity="high", category="t", applies_to=("aws_s3_bucket",))
    rule(**spec)(lambda d: iter(()))
    with pytest.raises(ValueError, match="duplicate rule id MLOPS_AWS_996"):
        rule(**spec)(lambda d: iter(()))


def test_the_decorator_records_the_defining_module_so_the_cloud_follows_the_folder(fresh_registry):
    @rule(id="MLOPS_AWS_995", name="x", severity="low", category="t", applies_to=("aws_s3_bucket",))
    def check(d):
        yield from ()

    r = fresh_registry["MLOPS_AWS_995"]
    assert r.module == __name__ and r.cloud is None  # defined outside policies/rules/: no cloud


def test_the_engine_does_not_import_the_change_layer():
    """engine -> change was a cycle (change imports engine); now the engine knows no layer helper."""
    code = (
        "import json, sys, mlops_blueprint.policies.engine; "
        "print(json.dumps([m for m in sys.modules if m.startswith('mlops_blueprint.policies')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    loaded = json.loads(out)
    assert "mlops_blueprint.policies.engine" in loaded
    assert "mlops_blueprint.policies.change" not in loaded
    assert not [m for m in loaded if m.startswith("mlops_blueprint.policies.rules")]


def test_the_change_rule_is_discovered_like_the_others():
    r = all_rules()["MLOPS_CHG_001"]
    assert r.layer == "change" and r.module == "mlops_blueprint.policies.rules.change.r001_no_unallowed_data_loss"


def doc_of(*fixtures: str) -> Doc:
    """One stack made of several pass fixtures (same provider block)."""
    merged: dict = {"resource": {}}
    for name in fixtures:
        data = json.loads((FIXTURES / name / "pass.json").read_text())
        merged["provider"] = data["provider"]
        for t, items in data["resource"].items():
            merged["resource"].setdefault(t, {}).update(items)
    return Doc(merged)


def test_the_gate_runs_only_the_stacks_cloud_rules_that_read_a_type_it_holds():
    enforced = set(all_rules())
    ecr = doc_of("aws/MLOPS_AWS_016")  # aws_ecr_repository only
    assert {r.id for r in resource_rules_for(ecr, enforced)} == {
        "MLOPS_AWS_016",
        "MLOPS_AWS_017",
        "MLOPS_AWS_018",
        "MLOPS_AWS_026",
    }  # 026 reads every resource
    bucket = doc_of("gcp/MLOPS_GCP_002")  # google_storage_bucket only
    assert {r.id for r in resource_rules_for(bucket, enforced)} == {
        "MLOPS_GCP_001",
        "MLOPS_GCP_002",
        "MLOPS_GCP_003",
        "MLOPS_GCP_004",
        "MLOPS_GCP_025",
    }  # 025: a stack that holds buckets needs Data Access audit logs
    assert resource_rules_for(Doc({"resource": {"aws_ecr_repository": {"x": {}}}}), enforced) == []  # no provider
    assert {r.id for r in resource_rules_for(ecr, resolve(["regulated"])[0])} == set()


def test_the_gate_finds_each_rules_failure_in_a_whole_stack(tmp_path):
    """Every AWS fail fixture's failure is still found when the gate picks the rules itself."""
    for folder in sorted((FIXTURES / "aws").iterdir()):
        data = json.loads((folder / "fail.json").read_text())
        path = tmp_path / f"{folder.name}.json"
        path.write_text(json.dumps(data))
        failing = {(f.rule, f.address) for f in resource_layer(path, set(all_rules())) if not f.passed}
        assert {(folder.name, a) for a in data["expect_fail"]} <= failing, folder.name


def test_an_environments_report_over_its_two_stacks():
    """check gates the cloud stack and the cluster stack of an environment, and reports them as one."""
    import datetime as dt

    from mlops_blueprint.policies.engine import Finding, Report, Waiver

    w = Waiver("MLOPS_K8S_001", "training", "the reason is long enough", "sec@example.com", dt.date(2027, 1, 1))
    cloud = Report(
        findings=[Finding("MLOPS_AWS_001", "a", "high", "resource", "data_lake.raw", "aws_s3_bucket.raw", True)],
        waiver_warnings=["waiver MLOPS_K8S_001 on training matched nothing", "waiver X on y matched nothing"],
        notes=["checkov CKV_1 not enforced by the packs: r"],
    )
    cluster = Report(
        findings=[Finding("MLOPS_K8S_001", "b", "high", "resource", "training", "kubernetes_manifest.q", False)],
        waivers_used=[w],
        waiver_problems=["waiver Z expired"],
        waiver_warnings=["waiver X on y matched nothing"],
        notes=["checkov CKV_1 not enforced by the packs: r"],
    )
    both = cloud.merged(cluster)
    assert [f.rule for f in both.findings] == ["MLOPS_AWS_001", "MLOPS_K8S_001"]
    assert both.waivers_used == [w] and both.waiver_problems == ["waiver Z expired"]
    assert both.waiver_warnings == ["waiver X on y matched nothing"]  # the first matched in the cluster stack
    assert both.notes == ["checkov CKV_1 not enforced by the packs: r"]
    assert not both.ok() and cloud.ok()
