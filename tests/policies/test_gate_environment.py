"""One environment, several stacks (the cloud stack and its cluster stack), one gate: every finding, waiver
line and checkov exclusion is reported once per environment, in every report format and on the terminal,
and stdout carries a machine-format report alone (the progress goes to stderr)."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter

import jsonschema
import pytest
import xmlschema
from typer.testing import CliRunner

from mlops_blueprint.blueprints import load, registry
from mlops_blueprint.policies.engine import Finding, Report, Waiver, apply_waivers
from mlops_blueprint.policies.gate import checkov_not_enforced, checkov_on_cloud, environment, later_stack_view
from mlops_blueprint.policies.packs import PACKS
from mlops_blueprint.scripts.cli import app
from tests.conftest import REFERENCE, ROOT

TODAY = dt.date(2026, 11, 24)
LATER = dt.date(2030, 1, 1)


def finding(rule: str, subject: str, passed: bool = False, layer: str = "resource") -> Finding:
    return Finding(rule, "n", "high", layer, subject, f"x.{subject}", passed, "bad")


BP = finding("MLOPS_BP_002", "target.region", layer="blueprint")  # the blueprint rules run with every stack
CLOUD = finding("MLOPS_AWS_016", "registry.repo-fraud")
CLUSTER = finding("CKV_K8S_21", "training.trainer")
WAIVERS = [
    Waiver("MLOPS_BP_002", "target.region", "agreed with the data owner", "sec@example.com", LATER),
    Waiver("MLOPS_AWS_016", "registry", "mutable during the migration", "sec@example.com", LATER),
    Waiver("CKV_K8S_21", "training", "the namespace is the trainer's own", "sec@example.com", LATER),
    Waiver("MLOPS_AWS_017", "nowhere", "matches nothing in any stack", "sec@example.com", LATER),
    Waiver("MLOPS_AWS_018", "registry", "expired a long time ago now", "sec@example.com", dt.date(2020, 1, 1)),
]
KNOWN = {w.check for w in WAIVERS}


def stack(*findings: Finding) -> Report:
    return apply_waivers(Report(list(findings), notes=["checkov CKV_AWS_18 not enforced"]), WAIVERS, KNOWN, TODAY)


@pytest.mark.parametrize(
    "cloud, cluster",
    [([BP, CLOUD], [BP, CLUSTER]), ([BP, CLOUD, CLUSTER], [BP]), ([BP], [BP, CLOUD, CLUSTER]), ([BP], [BP])],
    ids=["each-its-own", "all-in-cloud", "all-in-cluster", "none"],
)
def test_a_waiver_matched_nothing_only_if_no_stack_used_it_and_each_line_shows_once(cloud, cluster):
    report, views = environment([("s-dev", stack(*cloud)), ("s-dev-cluster", stack(*cluster))])
    found_in = cloud + cluster
    found = {f.rule for f in found_in}
    assert Counter((f.rule, f.address) for f in report.findings) == Counter({(f.rule, f.address): 1 for f in found_in})
    assert all(f.waived_by for f in report.findings if f.rule != "CKV_K8S_8")  # each waived where it was found
    unmatched = [i + 1 for i, w in enumerate(WAIVERS) if w.check not in found and w.expires >= TODAY]
    assert [int(re.match(r"waiver (\d+) ", w)[1]) for w in report.waiver_warnings] == unmatched
    assert len(report.waiver_problems) == 1 and "expired" in report.waiver_problems[0]  # and not "matched nothing"
    # the terminal shows each stack's view: every finding, waiver used and waiver line in exactly one of them
    shown = [f for _, v in views for f in v.findings]
    assert Counter(shown) == Counter(report.findings)
    assert Counter(w for _, v in views for w in v.waivers_used) == Counter(report.waivers_used)
    for part in ("waiver_problems", "waiver_warnings", "notes"):
        assert [x for _, v in views for x in getattr(v, part)] == getattr(report, part), part
    assert views[1][1].ok() and not views[0][1].ok()  # the expired waiver fails the environment once


def test_a_failure_in_the_cluster_stack_alone_fails_its_view_and_the_environment():
    bad = finding("CKV_K8S_8", "training.trainer")
    report, views = environment([("s-dev", stack(BP)), ("s-dev-cluster", stack(BP, bad))])
    assert bad in report.failures() and [f for f in views[1][1].failures()] == [bad]


@pytest.mark.parametrize("found", [[BP], [BP, CLUSTER], [BP, CLOUD, CLUSTER]], ids=["blueprint", "own", "both"])
def test_a_later_stack_gated_alone_shows_its_own_findings_and_waivers_not_the_environments(found):
    """`up` gates the cluster stack after the cloud stack showed the environment's findings and lines."""
    r = stack(*found)
    view = later_stack_view(r)
    assert view.findings == [f for f in r.findings if f.layer != "blueprint"]
    assert [w.check for w in view.waivers_used] == [w.check for w in WAIVERS if w.check in {f.rule for f in found[1:]}]
    assert view.waiver_problems == view.waiver_warnings == view.notes == [] and r.waiver_problems


def test_a_single_stack_environment_is_its_own_report():
    r = stack(BP, CLOUD)
    report, [(name, view)] = environment([("s-dev", r)])
    assert name == "s-dev" and report.findings == view.findings == r.findings
    assert view.waiver_warnings == r.waiver_warnings and view.notes == r.notes


# --- checkov checks the packs do not enforce: the target cloud's and the cloud-neutral ones ----------------


def token(check: str) -> str:
    return re.match(r"^CKV2?_([A-Z0-9]+)_", check)[1]


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.stem)
def test_the_not_enforced_list_names_only_checks_of_the_target_cloud_or_no_cloud(path):
    loaded = load(path)
    clouds = {n.upper() for n in registry.NAMES}
    own = loaded.base.target.cloud.upper()
    everything = {k for p in PACKS.values() for k in p.checkov_not_enforced}
    for e in loaded.envs.values():
        listed = checkov_not_enforced(e)
        assert all(token(k) == own or token(k) not in clouds for k in listed), sorted(listed)
        in_packs = {k for p in e.blueprint.policies.packs for k in PACKS[p].checkov_not_enforced}
        assert set(listed) == {k for k in in_packs if token(k) == own or token(k) not in clouds}
        assert list(listed) == sorted(listed)
    assert any(token(k) != own and token(k) in clouds for k in everything)  # there was something to drop


@pytest.mark.parametrize(
    "check, cloud, expected",
    [("CKV_AWS_18", "aws", True), ("CKV2_AWS_10", "aws", True), ("CKV_AZURE_33", "aws", False),
     ("CKV2_GCP_33", "aws", False), ("CKV_GCP_12", "gcp", True), ("CKV_K8S_21", "aws", True),
     ("CKV_K8S_21", "onprem", True), ("CKV_AWS_18", "onprem", False), ("CKV_SECRET_2", "azure", True)],
)  # fmt: skip
def test_checkov_on_cloud(check, cloud, expected):
    assert checkov_on_cloud(check, cloud) is expected


# --- end to end: `check` on a blueprint with a cluster stack, each format on stdout -------------------------

BLUEPRINT = (
    (ROOT / "blueprints" / "reference" / "starter.yaml")
    .read_text()
    .replace("models: [fraud]", "models: [fraud]\n    immutable_tags: false")
    + """\
policies:
  allowed_regions: [eu-west-1]
  waivers:
    - {check: MLOPS_BP_002, resource: target.region, reason: "the region is agreed with the data owner", owner: sec@example.com, expires: 2030-01-01}
    - {check: MLOPS_AWS_016, resource: registry, reason: "tags stay mutable during the migration", owner: sec@example.com, expires: 2030-01-01}
    - {check: CKV_AWS_51, resource: registry, reason: "tags stay mutable during the migration", owner: sec@example.com, expires: 2030-01-01}
    - {check: MLOPS_AWS_017, resource: nothing.here, reason: "matches nothing in any stack at all", owner: sec@example.com, expires: 2030-01-01}
"""
)  # noqa: E501


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """`check --format F` (no --output-file) for sarif, junit and json: (stdout, stderr, exit code)."""
    tmp = tmp_path_factory.mktemp("env-gate")
    bp = tmp / "starter.yaml"
    bp.write_text(BLUEPRINT)
    assert load(bp).base.target.cloud == "aws"
    runner = CliRunner()
    out = {}
    for fmt in ("sarif", "junit", "json"):
        r = runner.invoke(app, ["check", str(bp), "-e", "dev", "-o", str(tmp / "out"), "--format", fmt])
        out[fmt] = (r.stdout, r.stderr, r.exit_code)
    assert (tmp / "out" / "stacks" / "starter-dev-cluster" / "cdk.tf.json").is_file()  # there is a cluster stack
    return out


def test_stdout_carries_the_report_alone_and_the_progress_goes_to_stderr(checked):
    for fmt, (stdout, stderr, code) in checked.items():
        assert code == 0, stderr
        if fmt == "junit":
            ET.fromstring(stdout.encode())
        else:
            json.loads(stdout)
        assert "synthesized starter-dev" in stderr and "policy gate passed starter-dev-cluster" in stderr, fmt


def test_sarif_reports_each_rule_resource_and_environment_once(checked):
    doc = json.loads(checked["sarif"][0])
    schema = json.loads((ROOT / "tests" / "schemas" / "sarif" / "sarif-schema-2.1.0.json").read_text())
    assert list(jsonschema.Draft4Validator(schema).iter_errors(doc)) == []
    results = [r for run in doc["runs"] for r in run["results"]]
    keys = [
        (r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], r["properties"]["environment"])
        for r in results
    ]
    assert {k[0] for k in keys} >= {"MLOPS_BP_002", "MLOPS_AWS_016"}
    assert len(keys) == len(set(keys)), Counter(keys).most_common(3)
    fps = [r["partialFingerprints"]["mlopsBlueprintFinding/v1"] for r in results]
    assert len(fps) == len(set(fps))
    notes = [
        n["message"]["text"]
        for run in doc["runs"]
        for i in run["invocations"]
        for n in i.get("toolExecutionNotifications", [])
    ]
    assert notes == ["waiver 4 for MLOPS_AWS_017 on nothing.here matched nothing"]
    configured = [
        n["descriptor"]["id"]
        for run in doc["runs"]
        for i in run["invocations"]
        for n in i.get("toolConfigurationNotifications", [])
    ]
    assert configured and not [c for c in configured if re.match(r"CKV2?_(AZURE|GCP)_", c)]  # fmt: skip


def test_junit_reports_each_finding_once(checked):
    xml = checked["junit"][0]
    xmlschema.XMLSchema(str(ROOT / "tests" / "schemas" / "junit" / "junit-10.xsd")).validate(xml)
    cases = [(c.get("classname"), c.get("name")) for c in ET.fromstring(xml.encode()).iter("testcase")]
    assert ("MLOPS_BP_002", "target.region") in cases and len(cases) == len(set(cases))
    out = "".join(s.text or "" for s in ET.fromstring(xml.encode()).iter("system-out"))
    assert out.count("matched nothing") == 1 and not re.search(r"CKV2?_(AZURE|GCP)_", out)


def test_json_reports_each_finding_once(checked):
    dev = json.loads(checked["json"][0])["dev"]
    keys = [(f["rule"], f["address"]) for f in dev["findings"]]
    assert len(keys) == len(set(keys)) and ("MLOPS_BP_002", "target.region") in keys
    assert dev["waiver_warnings"] == ["waiver 4 for MLOPS_AWS_017 on nothing.here matched nothing"]
    assert dev["checkov_not_enforced"] and not [
        c for c in dev["checkov_not_enforced"] if re.match(r"CKV2?_(AZURE|GCP)_", c)
    ]


def test_the_terminal_shows_each_waiver_line_and_the_checkov_list_once_per_environment(checked):
    stderr = " ".join(checked["sarif"][1].split())  # rich wraps lines at the console width
    assert stderr.count("waiver 4 for MLOPS_AWS_017") == 1
    assert stderr.count("waiver used: MLOPS_BP_002") == 1 and stderr.count("waiver used: MLOPS_AWS_016") == 1
    assert stderr.count("checkov checks not enforced by the packs") == 1
    assert not re.search(r"CKV2?_(AZURE|GCP)_", stderr)
