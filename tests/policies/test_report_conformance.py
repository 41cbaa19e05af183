"""The gate's report files satisfy their real consumers, checked with the consumers' own specs:

- SARIF: the OASIS SARIF 2.1.0 schema (tests/schemas/sarif/, jsonschema) and what GitHub code scanning
  requires of an upload (a physical location with a start line on every result, partial fingerprints,
  rule metadata, one category per run);
- JUnit: the Jenkins junit-10.xsd (tests/schemas/junit/, xmlschema);
- markdown: a GFM table parser (markdown-it-py with its table rule), cell by cell.

The reports come from the real gate (`policies.gate.evaluate`) on a blueprint loaded from YAML, with the
project's resource rules on a synthesized fixture; checkov's findings are given (checkov itself is
exercised by the gate tests), so that the test controls what it attributes.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from markdown_it import MarkdownIt

from mlops_blueprint.blueprints import loader
from mlops_blueprint.policies import gate
from mlops_blueprint.policies.engine import Finding
from mlops_blueprint.policies.report import RENDER, md_code, md_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "schemas"
FIXTURE = ROOT / "policies" / "fixtures" / "aws" / "MLOPS_AWS_016" / "fail.json"  # an ECR repo with mutable tags
TODAY = dt.date(2026, 11, 24)
ADDRESS = 'module.legacy.aws_s3_bucket.lake["raw"]'
REASON = 'mutable tags | during the v2 migration [/x] "quoted" <b>bold</b> `tick`'

BLUEPRINT = """\
apiVersion: mlops.blueprint/v1
kind: Blueprint
metadata: {name: starter, owner: ml-platform@example.com, cost_center: cc-1234, data_classification: internal}
target: {cloud: aws, region: eu-central-1}
components:
  data_lake:
    zones: [raw, curated, features]
  training:
    pools:
      gpu-a: {accelerator: nvidia-l4, max_nodes: 4}
  registry:
    models: [fraud]
  serving:
    endpoints:
      fraud-api: {model: fraud, max_replicas: 4}
environments:
  dev: {protect_stateful: false}
  prod:
    overrides:
      components.serving.endpoints.fraud-api.min_replicas: 1
policies:
  waivers:
    - check: MLOPS_AWS_016
      resource: registry
      reason: %s
      owner: sec@example.com
      expires: 2027-03-31
%s"""
EXPIRED = """\
    - check: MLOPS_AWS_017
      resource: registry
      reason: scanning moved to the CI pipeline
      owner: sec@example.com
      expires: 2026-01-31
"""


def checkov(severity: str = "medium") -> list[Finding]:
    return [
        Finding("CKV_AWS_21", "Ensure all data stored in the S3 bucket have versioning enabled", severity,
                "resource", "data_lake.raw", ADDRESS, False, "versioning | off", source="checkov"),
        Finding("CKV_AWS_20", "S3 buckets are not public", "high", "resource", "data_lake.raw", ADDRESS, True,
                source="checkov"),
    ]  # fmt: skip


def gated(tmp_path, monkeypatch, *, expired: bool = True, checkov_severity: str = "medium"):
    """(loaded blueprint, env -> report) for dev and prod, from the blueprint at ./blueprint.yaml."""
    monkeypatch.chdir(tmp_path)
    Path("blueprint.yaml").write_text(BLUEPRINT % (json.dumps(REASON), EXPIRED if expired else ""))
    loaded = loader.load("blueprint.yaml")
    reports = {
        e.name: gate.evaluate(e, json_path=FIXTURE, checkov=checkov(checkov_severity), today=TODAY)
        for e in loaded.select(None)
    }
    return loaded, reports


def line_of(text: str, needle: str, after: str = "") -> int:
    lines = Path("blueprint.yaml").read_text().splitlines()
    start = next(i for i, t in enumerate(lines) if after in t) if after else 0
    return next(i for i, t in enumerate(lines[start:], start + 1) if needle in t)


def test_line_of_finds_fields_component_names_overrides_and_the_nearest_ancestor(tmp_path, monkeypatch):
    loaded, _ = gated(tmp_path, monkeypatch)
    assert loaded.line_of("components.training.pools.gpu-a.max_nodes") == line_of("", "gpu-a: {")
    assert loaded.line_of("serving.fraud-api") == line_of("", "fraud-api: {")  # a component name, as findings say
    assert loaded.line_of("data_lake.features") == line_of("", "zones: [raw")  # a zone is a list item
    assert loaded.line_of("policies.waivers[1].expires") == line_of("", "expires: 2026-01-31")
    # prod overrides min_replicas: its line; dev does not write it: the endpoint's line
    assert loaded.line_of("components.serving.endpoints.fraud-api.min_replicas", "prod") == line_of(
        "", ".min_replicas: 1"
    )
    assert loaded.line_of("components.serving.endpoints.fraud-api.min_replicas", "dev") == line_of("", "fraud-api: {")
    assert loaded.line_of("registry.repo-fraud") == line_of("", "  registry:")  # no such model: the component
    assert loaded.line_of("baseline.network") == loaded.line_of("(rule)") == 1  # nothing of it is written


# --- SARIF -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads((SCHEMAS / "sarif" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def test_sarif_is_valid_sarif_2_1_0(tmp_path, monkeypatch, sarif_validator):
    loaded, reports = gated(tmp_path, monkeypatch)
    for min_severity in ("low", "high"):
        doc = json.loads(RENDER["sarif"](reports, min_severity, loaded))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in sarif_validator.iter_errors(doc)]
        assert errors == []
    # and a report with no blueprint to point at (a library caller) is still valid SARIF
    assert list(sarif_validator.iter_errors(json.loads(RENDER["sarif"](reports, "low")))) == []


def test_sarif_meets_github_code_scanning(tmp_path, monkeypatch):
    loaded, reports = gated(tmp_path, monkeypatch)
    doc = json.loads(RENDER["sarif"](reports, "low", loaded))
    runs = doc["runs"]
    ids = [(r["tool"]["driver"]["name"], r["automationDetails"]["id"]) for r in runs]
    assert ids == [
        ("mlops-blueprint", "mlops-blueprint/starter/dev/"),
        ("checkov", "mlops-blueprint/starter/dev/checkov/"),
        ("mlops-blueprint", "mlops-blueprint/starter/prod/"),
        ("checkov", "mlops-blueprint/starter/prod/checkov/"),
    ]
    for run in runs:
        rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
        assert [inv["executionSuccessful"] for inv in run["invocations"]] == [True]
        for res in run["results"]:
            loc = res["locations"][0]["physicalLocation"]
            assert loc["artifactLocation"]["uri"] == "blueprint.yaml"
            assert isinstance(loc["region"]["startLine"], int) and loc["region"]["startLine"] >= 1
            assert len(res["partialFingerprints"]["mlopsBlueprintFinding/v1"]) == 32
            assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
            rule = rules[res["ruleId"]]
            assert rule["name"] != rule["id"] and rule["name"].isalnum()
            assert rule["fullDescription"]["text"] and rule["help"]["text"] and rule["help"]["markdown"]
            assert 0.1 <= float(rule["properties"]["security-severity"]) <= 10.0
            assert "security" in rule["properties"]["tags"]
    fingerprints = [r["partialFingerprints"]["mlopsBlueprintFinding/v1"] for run in runs for r in run["results"]]
    assert len(set(fingerprints)) == len(fingerprints)


def test_sarif_results_land_on_the_blueprint_lines_they_come_from(tmp_path, monkeypatch):
    loaded, reports = gated(tmp_path, monkeypatch)
    runs = json.loads(RENDER["sarif"](reports, "low", loaded))["runs"]
    at = {
        (run["automationDetails"]["id"], res["ruleId"]): res["locations"][0]["physicalLocation"]["region"]["startLine"]
        for run in runs
        for res in run["results"]
    }
    assert at[("mlops-blueprint/starter/dev/", "MLOPS_AWS_016")] == line_of("", "  registry:")
    assert at[("mlops-blueprint/starter/dev/checkov/", "CKV_AWS_21")] == line_of("", "zones: [raw")
    # prod's replica rule points at prod's override, not at the endpoint's own line
    assert at[("mlops-blueprint/starter/prod/", "MLOPS_BP_001")] == line_of("", "fraud-api.min_replicas: 1")
    # the expired waiver points at its own expires line
    assert at[("mlops-blueprint/starter/dev/", "MLOPS_GATE_001")] == line_of("", "expires: 2026-01-31")


def test_sarif_attributes_checkov_to_checkov_and_suppresses_waived_findings(tmp_path, monkeypatch):
    loaded, reports = gated(tmp_path, monkeypatch)
    runs = json.loads(RENDER["sarif"](reports, "low", loaded))["runs"]
    ours, theirs = runs[0], runs[1]
    assert {r["ruleId"] for r in theirs["results"]} == {"CKV_AWS_21"}
    assert not any(r["ruleId"].startswith("CKV") for r in ours["results"])
    [waived] = [r for r in ours["results"] if r["ruleId"] == "MLOPS_AWS_016"]
    assert waived["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": f"sec@example.com: {REASON} (until 2027-03-31)"}
    ]
    assert waived["properties"]["blocksGate"] is False
    logical = theirs["results"][0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
    assert logical == ADDRESS
    skipped = {n["descriptor"]["id"] for n in ours["invocations"][0]["toolConfigurationNotifications"]}
    assert "CKV_AWS_18" in skipped  # the packs' checkov exclusions ride along with the run


def test_every_failure_of_the_gate_is_a_sarif_result_even_an_expired_waiver_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("blueprint.yaml").write_text(BLUEPRINT % (json.dumps(REASON), EXPIRED))
    loaded = loader.load("blueprint.yaml")
    dev = loaded.envs["dev"]
    report = gate.evaluate(dev, today=TODAY)  # blueprint rules only: nothing fails but the waiver
    assert not report.ok("low") and report.failures("low") == []
    [run] = json.loads(RENDER["sarif"]({"dev": report}, "low", loaded))["runs"]
    assert [r["ruleId"] for r in run["results"]] == ["MLOPS_GATE_001"]
    assert "expired on 2026-01-31" in run["results"][0]["message"]["text"]
    assert run["invocations"][0]["properties"]["gate"] == "fail"


def test_a_crashed_rule_marks_the_run_unsuccessful(tmp_path, monkeypatch):
    loaded, reports = gated(tmp_path, monkeypatch, expired=False)
    reports["dev"].findings.append(
        Finding(
            "MLOPS_AWS_001", "n", "high", "resource", "(rule)", "(rule)", False, "rule crashed: KeyError", error=True
        )
    )
    runs = json.loads(RENDER["sarif"](reports, "low", loaded))["runs"]
    assert runs[0]["invocations"][0]["executionSuccessful"] is False
    assert runs[2]["invocations"][0]["executionSuccessful"] is True
    assert "rule crashed" in runs[0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


# --- JUnit -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def junit_xsd():
    return xmlschema.XMLSchema(str(SCHEMAS / "junit" / "junit-10.xsd"))


def suites(xml: str) -> dict[str, ET.Element]:
    return {s.get("name"): s for s in ET.fromstring(xml.encode()).iter("testsuite")}


def test_junit_is_valid_against_junit_10_xsd_and_keeps_quotes(tmp_path, monkeypatch, junit_xsd):
    loaded, reports = gated(tmp_path, monkeypatch)
    xml = RENDER["junit"](reports, "low", loaded)
    junit_xsd.validate(xml)
    dev = suites(xml)["policy-dev"]
    cases = {(c.get("classname"), c.get("name")): c for c in dev.iter("testcase")}
    assert ("CKV_AWS_21", ADDRESS) in cases  # the quotes survive the round trip
    assert cases["CKV_AWS_21", ADDRESS].find("failure").get("message") == "versioning | off"
    # failing: checkov's CKV_AWS_21 and the expired waiver; skipped: the waived MLOPS_AWS_016
    counts = {k: dev.get(k) for k in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": str(len(cases)), "failures": "2", "errors": "0", "skipped": "1"}
    assert len(dev.findall("testcase/failure")) == 2 and len(dev.findall("testcase/skipped")) == 1
    expired = cases["MLOPS_GATE_001", "policies.waivers[1].expires"].find("failure")
    assert "expired" in expired.get("message", "") + (expired.text or ""), ET.tostring(expired)
    [skip] = cases["MLOPS_AWS_016", "aws_ecr_repository.registry_repo-fraud_487965FB"].findall("skipped")
    assert REASON in skip.get("message")


def test_junit_at_min_severity_high_counts_no_failure_when_the_gate_passes(tmp_path, monkeypatch, junit_xsd):
    loaded, reports = gated(tmp_path, monkeypatch, expired=False, checkov_severity="medium")
    assert reports["dev"].ok("high") and not reports["dev"].ok("low")
    xml = RENDER["junit"](reports, "high", loaded)
    junit_xsd.validate(xml)
    dev = suites(xml)["policy-dev"]
    assert (dev.get("failures"), dev.get("skipped")) == ("0", "2")
    [below] = [c for c in dev.iter("testcase") if c.get("name") == ADDRESS and c.find("skipped") is not None]
    assert "below the gate's threshold (--min-severity high)" in below.find("skipped").get("message")
    # at low: checkov's medium finding fails in dev and prod, and prod's replica rule (high) in prod
    assert RENDER["junit"](reports, "low", loaded).count("<failure ") == 3


def test_junit_counts_crashes_as_errors(tmp_path, monkeypatch, junit_xsd):
    loaded, reports = gated(tmp_path, monkeypatch, expired=False)
    reports["dev"].findings.append(
        Finding("CHECKOV", "checkov ran", "critical", "resource", "(checkov)", "(checkov)", False,
                "checkov exited 2: <boom> & \"quotes\"\x01", source="checkov", error=True)
    )  # fmt: skip
    xml = RENDER["junit"](reports, "low", loaded)
    junit_xsd.validate(xml)
    dev = suites(xml)["policy-dev"]
    assert dev.get("errors") == "1" and dev.find("testcase/error").get("message").startswith("checkov exited 2: <boom>")


# --- markdown ----------------------------------------------------------------------------------------

GFM = MarkdownIt("commonmark").enable("table")


def tables(md: str) -> list[list[list[str]]]:
    """Every table as rows of cell texts, as a GFM renderer splits them."""
    out: list[list[list[str]]] = []
    row: list[str] | None = None
    for tok in GFM.parse(md):
        if tok.type == "table_open":
            out.append([])
        elif tok.type == "tr_open":
            row = []
            out[-1].append(row)
        elif tok.type == "inline" and row is not None:
            assert not any(c.type == "html_inline" for c in tok.children or []), f"raw HTML in a cell: {tok.content}"
            row.append("".join(c.content for c in tok.children or [] if c.type in ("text", "code_inline")))
        elif tok.type == "tr_close":
            row = None
    return out


def sections(md: str) -> dict[str, list[str]]:
    """heading text -> the plain text of the list items under it (until the next heading)."""
    out: dict[str, list[str]] = {}
    current = None
    tokens = GFM.parse(md)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            current = tokens[i + 1].content
            out[current] = []
        elif tok.type == "inline" and current is not None and tokens[i - 2].type == "list_item_open":
            out[current].append("".join(c.content for c in tok.children or [] if c.type in ("text", "code_inline")))
    return out


def test_markdown_tables_keep_their_cells_whatever_the_user_wrote(tmp_path, monkeypatch):
    loaded, reports = gated(tmp_path, monkeypatch)
    md = RENDER["markdown"](reports, "low", loaded)
    found = tables(md)
    assert len(found) == 2  # one per environment
    for table in found:
        assert {len(row) for row in table} == {5}, table
        assert table[0] == ["severity", "rule", "resource", "message", "waived"]
    dev = found[0]
    assert ["medium", "CKV_AWS_21", "data_lake.raw", "versioning | off", ""] in dev
    [waived] = [row for row in dev if row[1] == "MLOPS_AWS_016"]
    assert waived[4] == f"sec@example.com: {REASON} (until 2027-03-31)"  # | [/x] "quoted" <b> `tick`, literally


def test_markdown_sections_waivers_problems_and_checkov_exclusions(tmp_path, monkeypatch):
    loaded, reports = gated(tmp_path, monkeypatch)
    md = RENDER["markdown"](reports, "low", loaded)
    assert md.count("### checkov checks the packs do not enforce") == 2
    s = sections(md)
    assert s["dev: FAIL"] == [] and "prod: FAIL" in s
    assert s["Waivers used"] == [f"MLOPS_AWS_016 on registry: {REASON} (sec@example.com, until 2027-03-31)"]
    assert [p for p in s["Waiver problems (these fail the gate)"] if "expired" in p] == [
        "waiver 2 for MLOPS_AWS_017 on registry expired on 2026-01-31 (owner sec@example.com); "
        "renew it with a new date or fix the finding"
    ]
    excluded = s["checkov checks the packs do not enforce"]
    assert any(x.startswith("CKV_AWS_18: S3 server access logs") for x in excluded)


def test_markdown_says_none_when_no_waiver_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("blueprint.yaml").write_text(BLUEPRINT % (json.dumps(REASON), ""))
    loaded = loader.load("blueprint.yaml")
    report = gate.evaluate(loaded.envs["dev"], today=TODAY)
    s = sections(RENDER["markdown"]({"dev": report}, "low", loaded))
    assert s["Waivers used"] == ["none"]
    assert "Waiver problems (these fail the gate)" not in s


@pytest.mark.parametrize(
    "text",
    ["a | b", "line one\nline two", "`code` and ``more``", "<script>alert(1)</script>", "[/x]", '"quoted" & \'single\'',
     "[link](https://example.com)", "*not emphasis* _nor this_", "# not a heading", "a\\|b", "~~not struck~~"],
)  # fmt: skip
def test_markdown_escaping_renders_user_text_literally(text):
    flat = " ".join(text.split())
    for cell in (md_text(text), md_code(text, cell=True)):
        [[header, row]] = tables(f"| h | x |\n|---|---|\n| {cell} | end |\n")
        assert row == [flat, "end"], (text, cell)
    [item] = sections(f"# t\n\n- {md_text(text)}\n")["t"]
    assert item == flat
