"""`review` without a cloud: the blueprint diff, addresses -> components, the risky changes and the
data-loss guard, the gate summary, markdown escaping and size, the exit codes, `--base` as a file or
a git ref, `--plan-dir` (bad files exit 2, good ones are reviewed without terraform)."""

import datetime as dt
import json
import os
import re
import subprocess
import sys

import pytest

from mlops_blueprint.blueprints.loader import BlueprintError, load, loads
from mlops_blueprint.policies.engine import Finding, Report, Waiver
from mlops_blueprint.policies.gate import evaluate
from mlops_blueprint.scripts import review as rv
from tests.conftest import ROOT

STARTER = ROOT / "blueprints/reference/starter.yaml"
CLI = [sys.executable, "-m", "mlops_blueprint.scripts.cli"]


def starter_text(**changes: str) -> str:
    text = STARTER.read_text()
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


GPU_B = (
    "      gpu-a: {accelerator: nvidia-l4, gpus_per_node: 1, min_nodes: 0, max_nodes: 4, spot: true}\n"
    "      gpu-b: {accelerator: nvidia-a10g, gpus_per_node: 1, min_nodes: 0, max_nodes: 2, spot: true}"
)
GPU_A = "      gpu-a: {accelerator: nvidia-l4, gpus_per_node: 1, min_nodes: 0, max_nodes: 4, spot: true}"
PROPOSED = starter_text(
    **{
        GPU_A: GPU_B,
        "components.serving.endpoints.fraud-api.min_replicas: 2": "components.serving.endpoints.fraud-api.min_replicas: 3",
        "zones: [raw, curated, features]": "zones: [raw, features]",
        "sales: {zones: [curated]}": "sales: {zones: [raw]}",
        "protect_stateful: false": "protect_stateful: true",
    }
)


def rc(address: str, actions: list[str], type_: str | None = None) -> dict:
    type_ = type_ or address.split(".")[0]
    name = address.split(".", 1)[1]
    return {"address": address, "mode": "managed", "type": type_, "name": name, "change": {"actions": actions}}


PLAN = {
    "format_version": "1.2",
    "resource_changes": [
        rc("aws_s3_bucket.data_lake_curated_bucket_E02FC21E", ["delete"]),
        rc("aws_s3_bucket_versioning.data_lake_curated_versioning_3D80264D", ["delete"]),
        rc("aws_glue_crawler.catalog_crawler-sales_5151187D", ["update"]),
        rc("aws_eks_node_group.training_pool-gpu-b_1234ABCD", ["create"]),
        rc("aws_cloudwatch_metric_alarm.monitoring_gpu-b-gpu_0000FFFF", ["create"]),
        rc("aws_sagemaker_endpoint_configuration.serving_fraud-api-config_1885382F", ["create", "delete"]),
        rc("aws_kms_key.baseline_key-data_CAC37556", ["no-op"]),
    ],
}


# --- the blueprint diff ----------------------------------------------------------------------------


def test_diff_says_each_change_once_in_the_blueprints_own_words():
    base, proposed = load(STARTER), loads(PROPOSED, "proposed.yaml")
    lines = [d.text for d in rv.blueprint_diff(base, proposed, ["dev", "prod"])]
    assert lines == [
        "all: components.data_lake.zones [raw, curated, features] → [raw, features]",
        "all: components.catalog.databases.sales.zones [curated] → [raw]",
        "all: components.training.pools.gpu-b added",
        "dev: environments.dev.protect_stateful false → true",
        "prod: components.serving.endpoints.fraud-api.min_replicas 2 → 3",
    ]


def test_diff_of_one_environment_new_and_removed_environments():
    base = load(STARTER)
    proposed = loads(starter_text(**{"  prod:\n": "  qa:\n"}), "p.yaml")
    lines = [d.text for d in rv.blueprint_diff(base, proposed, ["dev", "qa"])]
    assert lines == ["qa: environments.qa added", "prod: environments.prod removed"]
    assert [d.text for d in rv.blueprint_diff(base, base, ["dev"])] == []
    assert rv.blueprint_diff(None, base, ["dev"]) == []


def test_a_component_added_or_removed_is_one_line():
    base = load(STARTER)
    text = STARTER.read_text()
    monitoring = text[text.index("  monitoring:") : text.index("environments:")]
    proposed = loads(text.replace(monitoring, ""), "p.yaml")
    assert [d.text for d in rv.blueprint_diff(base, proposed, ["dev", "prod"])] == [
        "all: components.monitoring removed"
    ]
    assert [d.text for d in rv.blueprint_diff(proposed, base, ["dev", "prod"])] == ["all: components.monitoring added"]


# --- --base: a file or a git ref -------------------------------------------------------------------


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_base_from_a_git_ref_and_its_errors_at_ref_path_line(tmp_path):
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / "bps").mkdir()
    bp = tmp_path / "bps" / "bp.yaml"
    bp.write_text(STARTER.read_text())
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    bp.write_text(PROPOSED)
    base = rv.load_base("HEAD", bp)
    assert base.envs["prod"].blueprint.components.serving.endpoints["fraud-api"].min_replicas == 2
    assert str(base.path) == "HEAD:bps/bp.yaml"

    # the base is untrusted input: its own errors, at REF:path:line
    bp.write_text(STARTER.read_text().replace("max_nodes: 4", "max_nodes: four"))
    git(tmp_path, "commit", "-qam", "broken")
    bp.write_text(PROPOSED)
    with pytest.raises(BlueprintError) as exc:
        rv.load_base("HEAD", bp)
    assert "HEAD:bps/bp.yaml:24:" in str(exc.value) and "max_nodes" in str(exc.value)
    assert exc.value.exit_code == 2

    with pytest.raises(rv.BadBase) as bad:
        rv.load_base("no-such-ref", bp)
    assert "no-such-ref" in str(bad.value) and bad.value.exit_code == 2
    # a file wins over a ref of the same name
    assert rv.load_base(str(STARTER), bp).name == "starter"


# --- addresses -> components ------------------------------------------------------------------------


def test_addresses_map_to_blueprint_components():
    known = rv.known_names(load(STARTER).envs["dev"].blueprint, loads(PROPOSED, "p.yaml").envs["dev"].blueprint)
    cases = {
        "data_lake_raw_bucket_FA2E08A8": "data_lake.raw",
        "data_lake_curated_versioning_3D80264D": "data_lake.curated",  # removed: still known from the base
        "data_lake_data_engineers-lake_C0580181": "data_lake",  # a grant: the component, no zone
        "training_pool-gpu-b_1234ABCD": "training.gpu-b",
        "training_pool-gpu-a_4D5C5798": "training.gpu-a",
        "training_cluster_341BB387": "training",
        "serving_fraud-api-scaling-policy_D20DB3CF": "serving.fraud-api",
        "monitoring_gpu-a-gpu_F770D4BD": "monitoring.gpu-a",
        "monitoring_alerts_64E0E839": "monitoring",
        "catalog_crawler-sales_5151187D": "catalog.sales",
        "registry_repo-fraud_487965FB": "registry.fraud",
        "baseline_role-data_scientists_ADDC0BDB": "baseline.data_scientists",
        "baseline_vpc_7A99344D": "baseline",
        "starter-dev/data_lake/raw/bucket": "data_lake.raw",  # a construct path from the `//` metadata
        "something_else": "something_else",
        # the cluster stack (the training cluster's in-cluster layer)
        "pools_node-pool-gpu-b_6DF3BB47": "training.gpu-b",
        "k8s_gpu-b-cluster-queue_05A49A9F": "training.gpu-b",
        "k8s_kueue_B4F4B61E": "training",
    }
    assert {n: rv.component_of(n, known) for n in cases} == cases


def test_changes_are_grouped_by_component_with_counts():
    known = rv.known_names(load(STARTER).envs["dev"].blueprint, loads(PROPOSED, "p.yaml").envs["dev"].blueprint)
    changes = rv.changes_of(PLAN, known)
    e = rv.EnvReview("dev", "starter-dev", "terraform plan", None, changes, [], rv.Gate(True), None, (1, 2), "", [])
    assert e.counts == {"add": 2, "change": 1, "replace": 1, "destroy": 2}
    assert e.groups() == {
        "data_lake.curated": {"add": 0, "change": 0, "replace": 0, "destroy": 2},
        "catalog.sales": {"add": 0, "change": 1, "replace": 0, "destroy": 0},
        "training.gpu-b": {"add": 1, "change": 0, "replace": 0, "destroy": 0},
        "serving.fraud-api": {"add": 0, "change": 0, "replace": 1, "destroy": 0},
        "monitoring.gpu-b": {"add": 1, "change": 0, "replace": 0, "destroy": 0},
    }
    changed, removed = rv.changed_components([], "dev", changes, loads(PROPOSED, "p.yaml").envs["dev"].blueprint)
    assert removed == {"data_lake.curated"}
    assert changed == {"catalog.sales", "training.gpu-b", "serving.fraud-api", "monitoring.gpu-b"}


# --- risky changes and the gate -----------------------------------------------------------------------


def test_a_removed_zone_is_blocked_by_the_guard_unless_allowed():
    e = loads(PROPOSED, "p.yaml").envs["dev"]
    known = rv.known_names(load(STARTER).envs["dev"].blueprint, e.blueprint)
    report = evaluate(e, plan=PLAN)  # the real gate: blueprint rules and change rules
    risky = rv.risky_of(PLAN, known, (), report)
    assert [(r.address, r.component, r.action, r.status) for r in risky] == [
        ("aws_s3_bucket.data_lake_curated_bucket_E02FC21E", "data_lake.curated", "destroy", "blocked")
    ]
    assert "blocked by the data-loss guard (MLOPS_CHG_001)" in risky[0].detail
    assert "--allow-destroy data_lake.curated" in risky[0].detail
    gate = rv.gate_of(report, dt.date(2026, 1, 1))
    assert not gate.passed and [f["rule"] for f in gate.failures] == ["MLOPS_CHG_001"]

    allowed = evaluate(e, plan=PLAN, allow_destroy=("data_lake.curated",))
    risky = rv.risky_of(PLAN, known, ("data_lake.curated",), allowed)
    assert [(r.status, r.detail) for r in risky] == [("allowed", "allowed by --allow-destroy data_lake.curated")]
    gate = rv.gate_of(allowed, dt.date(2026, 1, 1))
    assert gate.passed and gate.allowances == [
        "aws_s3_bucket.data_lake_curated_bucket_E02FC21E: destroy allowed by --allow-destroy data_lake.curated"
    ]


def test_waivers_used_and_expiring_within_30_days():
    today = dt.date(2026, 11, 1)
    report = Report(
        findings=[Finding("MLOPS_AWS_002", "n", "high", "resource", "data_lake.raw", "a", False, "m", waived_by="x")],
        waivers_used=[
            Waiver("MLOPS_AWS_002", "data_lake.raw", "replicated elsewhere", "sec@example.com", dt.date(2026, 11, 20)),
            Waiver("MLOPS_AWS_003", "data_lake.raw", "replicated elsewhere", "sec@example.com", dt.date(2027, 3, 31)),
        ],
        waiver_problems=["waiver 3 for X on y expired on 2026-10-01 (owner o)"],
    )
    gate = rv.gate_of(report, today)
    assert not gate.passed and gate.failures == []
    assert [w["expires"] for w in gate.waivers_used] == ["2026-11-20", "2027-03-31"]
    assert [w["check"] for w in gate.waivers_expiring] == ["MLOPS_AWS_002"]


# --- the verdict and the exit codes ------------------------------------------------------------------


def env_review(**kw) -> rv.EnvReview:
    base = dict(
        env="dev",
        stack="starter-dev",
        plan_source="terraform plan",
        error=None,
        changes=[],
        risky=[],
        gate=rv.Gate(True),
        cost_before=(100.0, 200.0),
        cost_after=(150.0, 400.0),
        diagram="flowchart LR\n  a --> b",
        highlighted=[],
    )
    base.update(kw)
    return rv.EnvReview(**base)


BLOCKED = rv.Risky("aws_s3_bucket.x", "data_lake.raw", "destroy", "lake bucket", "blocked", "blocked by the guard")
GUARD_FAIL = {
    "rule": "MLOPS_CHG_001",
    "severity": "critical",
    "subject": "data_lake.raw",
    "address": "a",
    "message": "m",
}


@pytest.mark.parametrize(
    ("kw", "code", "reason"),
    [
        ({}, 0, None),
        ({"gate": rv.Gate(False, failures=[dict(GUARD_FAIL, rule="MLOPS_AWS_001")])}, 7, "the policy gate fails"),
        ({"gate": rv.Gate(False, failures=[GUARD_FAIL]), "risky": [BLOCKED]}, 7, "the data-loss guard blocks 1"),
        ({"error": "terraform plan failed for starter-dev"}, 7, "the plan failed"),
        ({"gate": rv.Gate(False, problems=["waiver 1 expired"])}, 7, "the policy gate fails (1 problem(s))"),
        ({"risky": [rv.Risky("a", "data_lake.raw", "destroy", "k", "allowed", "allowed by ...")]}, 0, None),
    ],
)
def test_exit_codes(kw, code, reason):
    r = rv.Review("starter", "s.yaml", None, [], [env_review(**kw), env_review(env="prod", stack="starter-prod")])
    assert r.exit_code == code
    assert code == 0 or rv.EXIT_MAY_NOT_MERGE == code == 7
    if reason:
        assert r.verdict.startswith("may not merge: dev: ") and reason in r.verdict
        assert "prod" not in r.verdict
    else:
        assert r.verdict.startswith("may merge")


def test_the_exit_code_is_distinct_from_every_other():
    from mlops_blueprint.blueprints import errors
    from mlops_blueprint.scripts.drift import EXIT_DRIFT

    used = {errors.EXIT_INPUT, errors.EXIT_TOOL, errors.EXIT_DEPLOY, errors.EXIT_VERIFY, errors.EXIT_POLICY, 130}
    assert rv.EXIT_MAY_NOT_MERGE not in used and EXIT_DRIFT not in used | {rv.EXIT_MAY_NOT_MERGE}


# --- markdown: escaping and size ----------------------------------------------------------------------


def cells(row: str) -> int:
    """Cells of a GFM table row: pipes not escaped by a backslash."""
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def test_user_text_cannot_break_a_table_or_inject_markup():
    hostile = "reason | with a pipe <img src=x> **bold** [link](http://x) `tick`"
    gate = rv.Gate(
        False,
        failures=[dict(GUARD_FAIL, rule="MLOPS_AWS_001", message=hostile)],
        waivers_used=[{"check": "C", "resource": "r|x", "owner": "o", "reason": hostile, "expires": "2030-01-01"}],
    )
    risky = [rv.Risky('module.legacy.aws_s3_bucket.lake["raw|x"]', "data_lake.raw", "destroy", "k", "blocked", hostile)]
    text = rv.to_markdown(rv.Review("starter", "s.yaml", None, [], [env_review(gate=gate, risky=risky)]))
    risky_rows = [ln for ln in text.splitlines() if ln.startswith("| ⛔")]
    assert len(risky_rows) == 1 and cells(risky_rows[0]) == 6
    assert '``module.legacy.aws_s3_bucket.lake["raw\\|x"]``' not in risky_rows[0]
    assert '`module.legacy.aws_s3_bucket.lake["raw\\|x"]`' in risky_rows[0]
    failure_rows = [ln for ln in text.splitlines() if ln.startswith("| critical |")]
    assert len(failure_rows) == 1 and cells(failure_rows[0]) == 4
    assert "<img" not in text.replace("\\<img", "") and "\\<img src=x\\>" in text  # escaped: never a tag
    assert "\\*\\*bold\\*\\*" in text and "\\[link\\](http://x)" in text


def test_code_spans_survive_backticks():
    assert rv.code("a`b") == "``a`b``"
    assert rv.code("`x`") == "`` `x` ``"
    assert rv.code("a|b") == "`a\\|b`"


def test_a_huge_plan_truncates_the_details_never_the_verdict_or_the_risky_changes():
    changes = [
        rv.Change(f"aws_iam_role_policy.baseline_grant-{i:05d}_ABCDEF12", "aws_iam_role_policy", "add", "baseline")
        for i in range(4000)
    ]
    risky = [
        rv.Risky(
            f"aws_s3_bucket.data_lake_z{i}_bucket_ABCDEF12",
            f"data_lake.z{i}",
            "destroy",
            "lake bucket",
            "blocked",
            "blocked",
        )
        for i in range(8)
    ]
    r = rv.Review(
        "starter",
        "s.yaml",
        "HEAD",
        [rv.DiffLine("all", "components.training.pools.gpu-b", "added")],
        [env_review(changes=changes, risky=risky, gate=rv.Gate(False, failures=[GUARD_FAIL]))],
    )
    text = rv.to_markdown(r)
    assert len(text) <= rv.GITHUB_LIMIT - 100 < len(rv._render(r, None, True, None, None))
    assert f"**❌ {rv.md(r.verdict)}**" in text
    assert all(f"`aws_s3_bucket.data_lake_z{i}_bucket_ABCDEF12`" in text for i in range(8))
    shown = len(re.findall(r"^\| add \| `aws_iam_role_policy", text, re.M))
    assert 100 < shown < 4000
    assert f"_Truncated to fit a GitHub comment: {4000 - shown} more addresses are in the JSON output" in text
    assert "```mermaid" in text  # the details went first; the diagram still fits
    # JSON carries everything
    doc = json.loads(rv.to_json(r))
    assert len(doc["environments"][0]["changes"]) == 4000 and doc["exit_code"] == 7
    # a tighter limit drops the diagram too, still never the risky changes
    r.envs[0].diagram = "flowchart LR\n" + "\n".join(f"  a{i} --> b{i}" for i in range(400))
    small = rv.to_markdown(r, limit=6000)
    assert "```mermaid" not in small and "The diagram is left out" in small
    assert all(rv.md(f"data_lake.z{i}") in small for i in range(8)) and rv.md(r.verdict) in small


def test_markdown_sections_in_order():
    r = rv.Review(
        "starter",
        "s.yaml",
        "HEAD",
        [rv.DiffLine("prod", "components.serving.endpoints.fraud-api.min_replicas", "changed", 2, 3)],
        [env_review(changes=[rv.Change("aws_x.serving_fraud-api_1", "aws_x", "change", "serving.fraud-api")])],
    )
    text = rv.to_markdown(r)
    heads = re.findall(r"^#+ .*$", text, re.M)
    assert heads == [
        "## Blueprint review: starter",
        "### Blueprint diff",
        "### ✅ dev (starter-dev)",
        "#### Risky changes",
        "#### Changes by component",
        "#### Policy gate",
        "#### Monthly cost (USD, minimum–maximum scale)",
        "#### Diagram",
    ]
    assert text.startswith("## Blueprint review: starter\n")
    assert "```\nprod: components.serving.endpoints.fraud-api.min_replicas 2 → 3\n```" in text
    assert "| 100–200 | 150–400 | +50 / +200 |" in text
    assert "- Waivers used: none" in text and "- Waivers expiring within 30 days: none" in text
    assert "<details><summary>Plan per address (1 changes, from terraform plan)</summary>" in text


# --- --plan-dir -----------------------------------------------------------------------------------------


def run_cli(*args, cwd=ROOT):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=dict(os.environ))


def test_bad_plan_files_exit_2_naming_the_file(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    p = run_cli("review", STARTER, "--env", "dev", "--plan-dir", plans)
    assert p.returncode == 2 and "has no plan for dev: expected starter-dev.json or dev.json" in p.stderr
    (plans / "dev.json").write_text("{not json")
    p = run_cli("review", STARTER, "--env", "dev", "--plan-dir", plans)
    assert p.returncode == 2 and f"{plans / 'dev.json'}: not JSON" in p.stderr, p.stderr
    (plans / "starter-dev.json").write_text('{"resources": []}')
    p = run_cli("review", STARTER, "--env", "dev", "--plan-dir", plans)
    assert p.returncode == 2 and f"{plans / 'starter-dev.json'} is not Terraform plan JSON" in p.stderr
    assert "Traceback" not in p.stderr
    p = run_cli("review", STARTER, "--base", "no-such-ref-or-file", "--plan-dir", plans)
    assert p.returncode == 2 and "--base 'no-such-ref-or-file' is not a file" in p.stderr


def test_review_from_a_plan_dir_without_terraform(tmp_path):
    """CI planned in a matrix: the review reads the plans, runs the whole gate, and says may not merge
    (exit 7) since the plan destroys a lake zone; the JSON says the same."""
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "dev.json").write_text(json.dumps(PLAN))
    proposed = tmp_path / "starter.yaml"
    proposed.write_text(PROPOSED)
    p = run_cli(
        "review", proposed, "--env", "dev", "--base", STARTER, "--plan-dir", plans,
        "--format", "json", "--output", tmp_path / "cdktf.out",
    )  # fmt: skip
    assert p.returncode == 7, p.stderr
    doc = json.loads(p.stdout)  # stdout carries the report alone: the progress went to stderr
    (env,) = doc["environments"]
    assert env["plan_source"] == str(plans / "dev.json")
    assert [r["component"] for r in env["risky"]] == ["data_lake.curated"]
    assert env["counts"] == {"add": 2, "change": 1, "replace": 1, "destroy": 2}
    assert env["reasons"] == ["the data-loss guard blocks 1 risky change(s)"]
    assert [d["text"] for d in doc["diff"]] == [
        "dev: components.data_lake.zones [raw, curated, features] → [raw, features]",
        "dev: components.catalog.databases.sales.zones [curated] → [raw]",
        "dev: components.training.pools.gpu-b added",
        "dev: environments.dev.protect_stateful false → true",
    ]
    assert env["cost"]["after"]["max_usd"] > env["cost"]["before"]["max_usd"]  # a new pool costs
    assert "data_lake.curated" in env["highlighted"] and "training.gpu-b" in env["highlighted"]
    assert "may not merge: dev: the data-loss guard blocks 1" in p.stderr


# --- drift: what a refresh-only plan says, by component ---------------------------------------------


def test_drift_keeps_what_the_configuration_sets_and_names_the_component():
    from mlops_blueprint.scripts.drift import EnvDrift, as_dict, drift_of, lines

    def drifted(address, before, after, actions=("update",)):
        t, name = address.split(".", 1)
        return {"address": address, "mode": "managed", "type": t, "name": name,
                "change": {"actions": list(actions), "before": before, "after": after}}  # fmt: skip

    plan = {
        "format_version": "1.2",
        "configuration": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_s3_bucket_versioning.data_lake_curated_versioning_3D80264D",
                        "expressions": {"versioning_configuration": [{"status": {"constant_value": "Enabled"}}]},
                    },
                    {
                        "address": "aws_s3_bucket.data_lake_raw_bucket_FA2E08A8",
                        "expressions": {"bucket": {"constant_value": "starter-dev-raw"}},
                    },
                    {
                        "address": "aws_eks_node_group.training_pool-gpu-a_4D5C5798",
                        "expressions": {
                            "scaling_config": [{"max_size": {"constant_value": 1}}],
                            "tags": {"references": ["local.tags"]},
                        },
                    },
                ]  # fmt: skip
            }
        },
        "resource_drift": [
            drifted(
                "aws_s3_bucket_versioning.data_lake_curated_versioning_3D80264D",
                {"versioning_configuration": [{"status": "Enabled", "mfa_delete": ""}]},
                {"versioning_configuration": [{"status": "Suspended", "mfa_delete": ""}]},
            ),
            # the bucket's inline copies of its own resources, and null read back as empty: not drift
            drifted(
                "aws_s3_bucket.data_lake_raw_bucket_FA2E08A8",
                {"bucket": "starter-dev-raw", "policy": "", "versioning": [{"enabled": False}], "tags": None},
                {"bucket": "starter-dev-raw", "policy": "{...}", "versioning": [{"enabled": True}], "tags": {}},
            ),
            drifted(
                "aws_eks_node_group.training_pool-gpu-a_4D5C5798",
                {"scaling_config": [{"max_size": 1, "min_size": 0}], "tags": {"a": "1"}},
                {"scaling_config": [{"max_size": 3, "min_size": 0}], "tags": {"a": "2"}},
            ),
            drifted("aws_kms_key.baseline_key-data_CAC37556", {"id": "k"}, None, ("delete",)),
        ],
    }
    known = rv.known_names(load(STARTER).envs["dev"].blueprint)
    found = drift_of(plan, known)
    assert [(d.component, d.action, d.attributes) for d in found] == [
        ("data_lake.curated", "changed", ("versioning_configuration.0.status",)),
        ("training.gpu-a", "changed", ("scaling_config.0.max_size", "tags.a")),
        ("baseline", "deleted", ()),
    ]
    env = EnvDrift("dev", "starter-dev", found)
    assert lines({"dev": env}) == [
        "starter-dev: 3 resource(s) changed outside Terraform",
        "  baseline",
        "    aws_kms_key.baseline_key-data_CAC37556: deleted outside Terraform",
        "  data_lake.curated",
        "    aws_s3_bucket_versioning.data_lake_curated_versioning_3D80264D: versioning_configuration.0.status "
        "Enabled -> Suspended",
        "  training.gpu-a",
        "    aws_eks_node_group.training_pool-gpu-a_4D5C5798: scaling_config.0.max_size 1 -> 3, tags.a 1 -> 2",
    ]
    doc = as_dict({"dev": env})
    assert doc["dev"]["drift"] is True
    assert doc["dev"]["components"]["training.gpu-a"][0]["attributes"]["scaling_config.0.max_size"] == {
        "state": 1,
        "actual": 3,
    }
    assert lines({"dev": EnvDrift("dev", "starter-dev", [])}) == ["starter-dev: no drift"]


def test_a_failed_plan_is_reported_and_the_other_environment_still_reviewed(monkeypatch, tmp_path):
    """Environments plan in parallel; prod's terraform fails: the review still covers dev, says prod's
    plan failed (with terraform's error) and exits 7. terraform itself is replaced here (the emulator
    test runs the real one): dev's plan is the fixture above."""
    from mlops_blueprint.scripts import pipeline
    from mlops_blueprint.scripts.glue import Target
    from mlops_blueprint.scripts.terraform import TerraformFailed

    class FakeTf:
        def __init__(self, plan):
            self.plan_json = plan  # what Terraform.plan keeps of the plan it made

    threads = set()

    def plan_env(cloud, r, e, target, events, only=()):
        import threading

        threads.add(threading.current_thread().name)
        if e.name == "prod":
            raise TerraformFailed(r.stack, "plan", "Error: no valid credential sources found")
        if r.stack.endswith("-cluster"):  # an environment's cluster stack, where the cloud has one
            return FakeTf({"format_version": "1.2", "resource_changes": []}), None
        return FakeTf(PLAN), None

    monkeypatch.setattr(pipeline, "_target", lambda *a, **k: Target(local=False, mirror=None))
    monkeypatch.setattr(pipeline, "_releases_first", lambda *a, **k: ())  # tests/scripts/test_releases_first.py
    monkeypatch.setattr(pipeline, "_plan_env", plan_env)
    r = rv.review(loads(PROPOSED, "p.yaml"), base=STARTER, outdir=tmp_path / "out", today=dt.date(2026, 1, 1))
    assert len(threads) == 2  # one thread per environment (its cluster stack, if any, in the same)
    dev, prod = r.envs
    assert dev.error is None and [x.component for x in dev.risky] == ["data_lake.curated"]
    assert prod.error.startswith("terraform plan failed for starter-prod:") and prod.changes == []
    assert prod.reasons[0] == "the plan failed"  # (then whatever the gate says of the synthesized stack)
    assert r.exit_code == 7 and "prod: the plan failed" in r.verdict
    text = rv.to_markdown(r)
    prod_section = text.split("### ❌ prod (starter-prod)", 1)[1]
    assert "**The plan failed**" in prod_section and "Error: no valid credential sources found" in prod_section
    assert "| ❌ prod | plan failed |" in text


def test_a_missing_price_leaves_the_cost_out_and_the_review_goes_on(monkeypatch):
    from mlops_blueprint.blueprints.cost import PriceMissing

    def no_price(e):
        raise PriceMissing("the price file has no compute price for aws g9.huge")

    monkeypatch.setattr(rv, "estimate_env", no_price)
    notes = []
    assert rv._estimate(load(STARTER).envs["dev"], notes.append) is None
    assert notes[0].message == "no cost estimate for dev: the price file has no compute price for aws g9.huge"
    text = rv.to_markdown(rv.Review("starter", "s.yaml", None, [], [env_review(cost_before=None, cost_after=None)]))
    assert "| n/a | n/a | n/a |" in text
