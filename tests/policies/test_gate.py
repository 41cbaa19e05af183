"""Blueprint rules, waivers, the data-loss guard, reports, and the gate's bad-input handling."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_blueprint.blueprints import load, registry
from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.policies import change
from mlops_blueprint.policies.engine import Finding, Report, Waiver, apply_waivers
from mlops_blueprint.policies.gate import blueprint_layer, evaluate
from mlops_blueprint.policies.packs import UnknownPack, resolve
from mlops_blueprint.policies.report import RENDER
from tests.conftest import MINIMAL, ROOT

TODAY = dt.date(2026, 11, 23)


def env_of(write, text, env="dev"):
    return load(write(text)).envs[env]


def test_prod_serving_needs_two_replicas(write):
    e = env_of(write, MINIMAL.replace("dev: {protect_stateful: false}", "prod: {}"), "prod")
    enforced, _ = resolve(["baseline"])
    failing = [(f.rule, f.address) for f in blueprint_layer(e, enforced) if not f.passed]
    assert failing == [("MLOPS_BP_001", "components.serving.endpoints.api.min_replicas")]


def test_region_allow_list(write):
    text = MINIMAL + "policies: {allowed_regions: [eu-west-1]}\n"
    failing = [f.rule for f in blueprint_layer(env_of(write, text), resolve(["baseline"])[0]) if not f.passed]
    assert failing == ["MLOPS_BP_002"]


def test_unknown_pack_is_refused_by_the_validator_and_the_resolver(write):
    from mlops_blueprint.blueprints import BlueprintError

    with pytest.raises(BlueprintError, match="'baseline' or 'regulated'"):
        load(write(MINIMAL + "policies: {packs: [strictest]}\n"))
    with pytest.raises(UnknownPack, match="available: baseline, regulated"):
        resolve(["strictest"])


def finding(rule="MLOPS_AWS_016", subject="registry.repo-m1", passed=False):
    return Finding(rule, "n", "high", "resource", subject, "aws_ecr_repository.registry_repo-m1_X", passed, "bad")


def test_waiver_applies_and_is_listed():
    w = Waiver("MLOPS_AWS_016", "registry", "mutable tags while we migrate", "sec@example.com", dt.date(2027, 1, 1))
    r = apply_waivers(Report([finding()]), [w], {"MLOPS_AWS_016"}, TODAY)
    assert r.ok() and r.waivers_used == [w] and "mutable tags" in r.findings[0].waived_by


def test_expired_waiver_fails_the_gate():
    w = Waiver("MLOPS_AWS_016", "registry", "mutable tags while we migrate", "sec@example.com", dt.date(2026, 1, 1))
    r = apply_waivers(Report([finding()]), [w], {"MLOPS_AWS_016"}, TODAY)
    assert not r.ok() and "expired on 2026-01-01" in r.waiver_problems[0] and r.findings[0].waived_by is None


def test_unknown_check_in_a_waiver_is_an_error_and_unmatched_is_a_warning():
    ws = [
        Waiver("MLOPS_NOPE_001", "x", "reason long enough", "a@b.co", dt.date(2027, 1, 1)),
        Waiver("MLOPS_AWS_016", "data_lake", "reason long enough", "a@b.co", dt.date(2027, 1, 1)),
    ]
    r = apply_waivers(Report([finding()]), ws, {"MLOPS_AWS_016"}, TODAY)
    assert r.waiver_problems == ["waiver 1 names unknown check 'MLOPS_NOPE_001'"]
    assert r.waiver_warnings == ["waiver 2 for MLOPS_AWS_016 on data_lake matched nothing"]


def test_waiver_needs_a_real_reason(write):
    from mlops_blueprint.blueprints import BlueprintError

    text = (
        MINIMAL
        + "policies:\n  waivers:\n    - {check: MLOPS_AWS_016, resource: registry, reason: meh, owner: a@b.co, expires: 2027-01-01}\n"
    )
    with pytest.raises(BlueprintError, match="at least 10 characters"):
        load(write(text))


def plan_with(actions, rtype="aws_s3_bucket", name="data_lake_raw_bucket_ABC"):
    return {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": f"{rtype}.{name}",
                "type": rtype,
                "name": name,
                "mode": "managed",
                "change": {"actions": actions},
            }
        ],
    }


@pytest.mark.parametrize(
    "actions, passed",
    [
        (["delete"], False),
        (["delete", "create"], False),
        (["create", "delete"], False),
        (["update"], True),
        (["create"], True),
    ],
)
def test_data_loss_guard(actions, passed):
    [f] = change.findings_for_plan(plan_with(actions), [])
    assert f.passed is passed and f.subject == "data_lake.raw"


@pytest.mark.parametrize("rtype", sorted(registry.stateful_types()))
def test_data_loss_guard_covers_every_clouds_stateful_types(rtype):
    [f] = change.findings_for_plan(plan_with(["delete"], rtype), [])
    assert not f.passed and f"plan would destroy {registry.stateful_types()[rtype]} {rtype}." in f.message


def test_data_loss_guard_ignores_data_sources():
    plan = plan_with(["delete"])
    plan["resource_changes"][0]["mode"] = "data"
    assert change.findings_for_plan(plan, []) == []


def test_data_loss_guard_ignores_stateless_resources_and_honours_allowances():
    assert change.findings_for_plan(plan_with(["delete"], "aws_cloudwatch_metric_alarm", "monitoring_x"), []) == []
    for allow in (["data_lake"], ["data_lake.raw"], ["aws_s3_bucket.data_lake_raw_bucket_ABC"]):
        [f] = change.findings_for_plan(plan_with(["delete"]), allow)
        assert f.passed and "allowed explicitly" in f.message
    assert change.allowances_used(plan_with(["delete"]), ["data_lake"]) == [
        "aws_s3_bucket.data_lake_raw_bucket_ABC: destroy allowed by --allow-destroy data_lake"
    ]


def test_not_a_plan():
    with pytest.raises(change.NotAPlan, match="not Terraform plan JSON") as info:
        change.validate_plan({"resource": {}}, "x.json")
    assert isinstance(info.value, UserError) and info.value.exit_code == 2


def test_reports_in_every_format_list_waivers_and_failures():
    w = Waiver("MLOPS_AWS_016", "registry", "mutable tags while we migrate", "sec@example.com", dt.date(2027, 1, 1))
    r = apply_waivers(Report([finding(), finding("MLOPS_AWS_017")]), [w], {"MLOPS_AWS_016", "MLOPS_AWS_017"}, TODAY)
    reports = {"dev": r}
    assert (
        json.loads(RENDER["json"](reports, "low"))["dev"]["waivers_used"][0]["reason"]
        == "mutable tags while we migrate"
    )
    md = RENDER["markdown"](reports, "low")
    assert "## dev: FAIL" in md and "MLOPS_AWS_017" in md and "mutable tags while we migrate" in md
    sarif = json.loads(RENDER["sarif"](reports, "low"))
    results = sarif["runs"][0]["results"]
    assert [x["ruleId"] for x in results] == ["MLOPS_AWS_016", "MLOPS_AWS_017"]
    assert results[0]["suppressions"][0]["kind"] == "external" and "suppressions" not in results[1]
    junit = RENDER["junit"](reports, "low")
    assert 'failures="1"' in junit and "<skipped" in junit


def test_min_severity_threshold():
    r = Report([Finding("MLOPS_AWS_025", "n", "low", "resource", "s", "a", False, "m")])
    assert not r.ok("low") and r.ok("medium")


def cli(*args, **env):
    import os

    return subprocess.run(
        [sys.executable, "-m", "mlops_blueprint.scripts.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, **env),
    )


def test_check_cli_passes_reference_blueprint_and_writes_sarif(tmp_path):
    out = tmp_path / "gate.sarif"
    p = cli(
        "check",
        ROOT / "blueprints/reference/starter.yaml",
        "--env",
        "dev",
        "-o",
        tmp_path / "s",
        "--format",
        "sarif",
        "--output-file",
        out,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "policy gate passed starter-dev" in p.stdout
    assert json.loads(out.read_text())["runs"][0]["results"] == []


def test_check_cli_fails_a_bad_stack_with_exit_6(write, tmp_path):
    text = MINIMAL.replace("registry: {models: [m1]}", "registry: {models: [m1], immutable_tags: false}")
    p = cli("check", write(text), "-o", tmp_path / "s", COLUMNS="250")
    assert p.returncode == 6, p.stdout + p.stderr
    assert "MLOPS_AWS_016" in p.stdout and "registry.repo-m1" in p.stdout and "policy gate FAILED" in p.stdout


def test_check_cli_refuses_a_file_that_is_not_a_plan(tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text('{"hello": 1}')
    p = cli("check", ROOT / "blueprints/reference/starter.yaml", "--env", "dev", "--plan", bad)
    assert p.returncode == 2 and "is not Terraform plan JSON" in p.stderr and "Traceback" not in p.stderr


def test_missing_checkov_fails_closed(tmp_path, monkeypatch):
    from mlops_blueprint.policies import checkov_runner

    monkeypatch.setattr(
        checkov_runner,
        "binary",
        lambda: (_ for _ in ()).throw(checkov_runner.CheckovUnavailable("checkov is not installed")),
    )
    e = load(ROOT / "blueprints/reference/starter.yaml").envs["dev"]
    from mlops_blueprint.stacks import synth

    [res] = synth(load(ROOT / "blueprints/reference/starter.yaml"), [e], tmp_path)
    r = evaluate(e, json_path=res.json_path)
    assert not r.ok()
    [f] = [f for f in r.findings if f.rule == "CHECKOV"]
    assert f.error and "checkov is not installed" in f.message


def _fake_checkov(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_checkov_is_found_in_its_own_virtualenv_then_on_path(tmp_path, monkeypatch):
    """$MLOPS_CHECKOV first, then `.venv-checkov/bin/checkov` next to the project, then PATH; the
    project's own interpreter folder is not searched (checkov is not in the project's venv)."""
    from mlops_blueprint.policies import checkov_runner

    explicit = _fake_checkov(tmp_path / "explicit" / "checkov")
    isolated = _fake_checkov(tmp_path / "root" / ".venv-checkov" / "bin" / "checkov")
    on_path = _fake_checkov(tmp_path / "path" / "checkov")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.setattr(checkov_runner, "ISOLATED", isolated)
    monkeypatch.setenv("MLOPS_CHECKOV", str(explicit))
    assert checkov_runner.binary() == str(explicit)
    monkeypatch.delenv("MLOPS_CHECKOV")
    assert checkov_runner.binary() == str(isolated)
    monkeypatch.setattr(checkov_runner, "ISOLATED", tmp_path / "nowhere" / "checkov")
    assert checkov_runner.binary() == str(on_path)
    assert checkov_runner.ISOLATED.parent != Path(sys.executable).parent


def test_checkov_missing_everywhere_fails_the_gate_closed(tmp_path, monkeypatch):
    """No $MLOPS_CHECKOV, no .venv-checkov, nothing on PATH: the real lookup fails, and so does the gate."""
    from mlops_blueprint.policies import checkov_runner
    from mlops_blueprint.stacks import synth

    # Synthesized first: jsii needs node from PATH (which of the tests before this one in the same
    # process started it depends on the order, and on which pytest-xdist worker runs this module).
    e = load(ROOT / "blueprints/reference/starter.yaml").envs["dev"]
    [res] = synth(load(ROOT / "blueprints/reference/starter.yaml"), [e], tmp_path / "out")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("MLOPS_CHECKOV", raising=False)
    monkeypatch.setattr(checkov_runner, "ISOLATED", tmp_path / "nowhere" / "checkov")
    with pytest.raises(checkov_runner.CheckovUnavailable, match="fails closed.*make install"):
        checkov_runner.binary()
    monkeypatch.setenv("MLOPS_CHECKOV", str(tmp_path / "missing"))
    with pytest.raises(checkov_runner.CheckovUnavailable, match="MLOPS_CHECKOV=.* is not an executable checkov"):
        checkov_runner.binary()
    r = evaluate(e, json_path=res.json_path)
    assert not r.ok()
    [f] = [f for f in r.findings if f.rule == "CHECKOV"]
    assert f.error and "is not an executable checkov" in f.message


def test_checkov_is_not_in_the_projects_dependencies():
    """checkov's pins downgrade boto3: it must come from its own virtualenv, never the project's extras."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    assert not [d for d in deps if d.lower().startswith("checkov")]
    # The Makefile installs it from its own hash-pinned lock (requirements/checkov.lock).
    assert "-r $(LOCK_CHECKOV)" in (ROOT / "Makefile").read_text()
    assert "\ncheckov==" in (ROOT / "requirements" / "checkov.lock").read_text()


def test_checkov_findings_map_back_to_components(tmp_path):
    from mlops_blueprint.policies.checkov_runner import run
    from mlops_blueprint.policies.tfjson import Doc
    from mlops_blueprint.stacks import synth

    lb = load(ROOT / "blueprints/reference/starter.yaml")
    [res] = synth(lb, [lb.envs["dev"]], tmp_path)
    findings = run(res.json_path, Doc(json.loads(res.json_path.read_text())), {})
    failed = {(f.rule, f.subject) for f in findings if not f.passed}
    assert ("CKV_AWS_18", "data_lake.raw") in failed  # access logging: not enforced by the packs, but reported
    assert all(f.source == "checkov" for f in findings)


@pytest.mark.parametrize("path", sorted((ROOT / "blueprints/reference").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_reference_blueprint_passes_its_packs(path, tmp_path):
    from mlops_blueprint.stacks import synth

    lb = load(path)
    for res, e in zip(synth(lb, lb.select(None), tmp_path), lb.select(None), strict=True):
        r = evaluate(e, json_path=res.json_path)
        assert r.ok(), [(f.rule, f.address, f.message) for f in r.failures()]


def test_waivers_apply_to_checkov_findings_too():
    f = Finding(
        "CKV_AWS_18",
        "access logging",
        "medium",
        "resource",
        "data_lake.raw",
        "aws_s3_bucket.data_lake_raw_bucket_X",
        False,
        "no access logs",
        source="checkov",
    )
    w = Waiver("CKV_AWS_18", "data_lake.raw", "logs go to the central archive", "sec@example.com", dt.date(2027, 1, 1))
    r = apply_waivers(Report([f]), [w], {"CKV_AWS_18"}, TODAY)
    assert r.ok() and r.findings[0].waived_by.startswith("sec@example.com: logs go to the central archive")


def test_data_loss_guard_blocks_destroying_an_azure_storage_account_unless_allowed():
    plan = plan_with(["delete", "create"], "azurerm_storage_account", "data_lake_account_D3952C28")
    [f] = change.findings_for_plan(plan, [])
    assert not f.passed and f.subject == "data_lake.account"
    assert "lake, workspace or state storage account azurerm_storage_account." in f.message
    for allow in (["data_lake"], ["data_lake.account"], ["azurerm_storage_account.data_lake_account_D3952C28"]):
        [f] = change.findings_for_plan(plan, allow)
        assert f.passed and "allowed explicitly" in f.message
    assert change.findings_for_plan(plan_with(["update"], "azurerm_storage_account", "data_lake_account_X"), [])[
        0
    ].passed


def test_check_cli_blocks_an_azure_plan_that_destroys_the_lake_unless_allowed(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(plan_with(["delete"], "azurerm_storage_account", "data_lake_account_D3952C28")))
    args = (
        "check",
        ROOT / "blueprints/reference/azure-claims.yaml",
        "--env",
        "dev",
        "-o",
        tmp_path / "s",
        "--plan",
        plan,
    )
    blocked = cli(*args, COLUMNS="250")
    assert blocked.returncode == 6, blocked.stdout + blocked.stderr
    assert "MLOPS_CHG_001" in blocked.stdout and "policy gate FAILED" in blocked.stdout
    allowed = cli(*args, "--allow-destroy", "data_lake", COLUMNS="250")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "policy gate passed claims-dev" in allowed.stdout


AZURE_TARGET = "target: {{cloud: azure, region: {region}, subscription_id: 00000000-0000-0000-0000-000000000000}}"


def retarget_to_azure(text: str, region: str = "westeurope") -> str:
    """An AWS or GCP reference blueprint on Azure: the target line, accelerators Azure has, and (gcp-vision) the
    prod subscription override and an Azure region allow-list."""
    import re

    text = re.sub(r"^target: .*$", AZURE_TARGET.format(region=region), text, flags=re.M)
    text = re.sub(r"nvidia-l4|nvidia-a10g", "nvidia-t4", text).replace("google-tpu-v5e", "nvidia-a100")
    text = text.replace(
        "target.project_id: acme-vision-prod", "target.subscription_id: 00000000-0000-0000-0000-000000000001"
    )
    return re.sub(r"^  allowed_regions: .*$", f"  allowed_regions: [{region}]", text, flags=re.M)


@pytest.mark.parametrize(
    "name, region", [("starter", "westeurope"), ("regulated-enterprise", "westeurope"), ("gcp-vision", "eastus")]
)
def test_aws_and_gcp_references_retargeted_to_azure_pass_their_packs(name, region, write, tmp_path):
    from mlops_blueprint.stacks import synth

    text = (ROOT / "blueprints/reference" / f"{name}.yaml").read_text()
    lb = load(write(retarget_to_azure(text, region)))
    for res, e in zip(synth(lb, lb.select(None), tmp_path), lb.select(None), strict=True):
        assert e.blueprint.target.cloud == "azure"
        r = evaluate(e, json_path=res.json_path)
        assert r.ok(), [(f.rule, f.address, f.message) for f in r.failures()]
        assert any(f.rule.startswith("MLOPS_AZ_") for f in r.findings)
