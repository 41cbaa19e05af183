"""Gate reports: a terminal table (most severe first) and json, markdown, sarif, junit files.

Each file format is written for its real consumer and tested against that consumer's spec
(tests/policies/test_report_conformance.py):

- sarif: the OASIS SARIF 2.1.0 schema plus what GitHub code scanning requires (a physical location
  on the blueprint line of every result, partial fingerprints, rule metadata, one run per
  environment told apart by `automationDetails.id`);
- junit: the Jenkins `junit-10.xsd`;
- markdown: GitHub-flavoured markdown (user text escaped so that it cannot break a table).

User text (waiver reasons and owners, resource names, messages that echo values) is escaped for each
medium by `blueprints/text.py`: markdown (`md_text`, `md_code`: no markup, HTML or mention), SARIF
messages (`sarif_text`: no control, bidi or zero-width character), JUnit (`xml_text`: nothing XML 1.0
cannot hold); JSON keeps the values exactly, every non-ASCII character written as an escape.

Every renderer takes the loaded blueprint (optional) to point findings at the lines they come from and
to list the checkov checks the environment's packs do not enforce.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from mlops_blueprint.blueprints.loader import LoadedBlueprint
from mlops_blueprint.blueprints.text import md_code, md_text, sarif_text, xml_text
from mlops_blueprint.policies.engine import RANK, Finding, Report, all_rules
from mlops_blueprint.policies.gate import checkov_not_enforced

FORMATS = ("json", "markdown", "sarif", "junit")
TOOL = "mlops-blueprint"


def ordered(findings: list[Finding]) -> list[Finding]:
    """The findings, each once, most severe first (failed, then waived, then passed)."""
    return sorted(
        dict.fromkeys(findings), key=lambda f: (f.passed, f.waived_by is not None, RANK[f.severity], f.rule, f.address)
    )


def below_threshold(f: Finding, min_severity: str) -> bool:
    """A failed, unwaived finding the gate does not fail on (its severity is below --min-severity)."""
    return not f.passed and f.waived_by is None and not f.error and RANK[f.severity] > RANK[min_severity]


def not_enforced(env: str, report: Report, blueprint: LoadedBlueprint | None) -> dict[str, str]:
    """The checkov checks the environment's packs do not enforce on its cloud, with their reasons."""
    if blueprint is not None and env in blueprint.envs:
        return checkov_not_enforced(blueprint.envs[env])
    found = (re.match(r"^checkov (\S+) not enforced by the packs: (.*)$", n, re.S) for n in report.notes)
    return {m[1]: m[2] for m in found if m}


@dataclass(frozen=True)
class GateProblem:
    """A failure of the gate that is not a finding: a waiver that expired or names an unknown check."""

    rule: str
    text: str
    field: str  # the blueprint field it is about (policies.waivers[i].expires)


GATE_RULES = {
    "MLOPS_GATE_001": ("Waivers are renewed before they expire", "expires"),
    "MLOPS_GATE_002": ("Waivers name a check that exists", "check"),
}


def gate_problems(report: Report) -> list[GateProblem]:
    out = []
    for text in report.waiver_problems:
        m = re.match(r"^waiver (\d+) ", text)
        rule = "MLOPS_GATE_002" if "unknown check" in text else "MLOPS_GATE_001"
        where = f"policies.waivers[{int(m[1]) - 1}].{GATE_RULES[rule][1]}" if m else "policies.waivers"
        out.append(GateProblem(rule, text, where))
    return out


# --- json --------------------------------------------------------------------------------------------


def to_json(reports: dict[str, Report], min_severity: str, blueprint: LoadedBlueprint | None = None) -> str:
    return json.dumps(
        {
            env: {
                "ok": r.ok(min_severity),
                "findings": [f.__dict__ for f in ordered(r.findings)],
                "waivers_used": [dict(w.__dict__, expires=str(w.expires)) for w in r.waivers_used],
                "waiver_problems": r.waiver_problems,
                "waiver_warnings": r.waiver_warnings,
                "allowances": r.allowances,
                "notes": r.notes,
                "checkov_not_enforced": not_enforced(env, r, blueprint),
            }
            for env, r in reports.items()
        },
        indent=2,
    )


# --- markdown ----------------------------------------------------------------------------------------

# md_text and md_code (user text as literal GFM) live in blueprints/text.py, shared with `review`.


def to_markdown(reports: dict[str, Report], min_severity: str, blueprint: LoadedBlueprint | None = None) -> str:
    lines = ["# Policy gate", ""]
    for env, r in reports.items():
        findings = ordered(r.findings)
        failed = [f for f in findings if not f.passed]
        low = [f for f in failed if below_threshold(f, min_severity)]
        lines += [
            f"## {md_text(env)}: {'PASS' if r.ok(min_severity) else 'FAIL'}",
            "",
            f"{sum(f.passed for f in findings)} passed, {len(failed)} failed "
            f"({sum(f.waived_by is not None for f in failed)} waived"
            + (f", {len(low)} below the --min-severity {min_severity} threshold" if low else "")
            + ")",
            "",
        ]
        if failed:
            lines += ["| severity | rule | resource | message | waived |", "|---|---|---|---|---|"]
            lines += [
                f"| {f.severity}{' (below threshold)' if f in low else ''} | {md_code(f.rule, True)} | {md_code(f.subject, True)} "
                f"| {md_text(f.message or f.name)} | {md_text(f.waived_by or '')} |"
                for f in failed
            ]
            lines.append("")
        lines += ["### Waivers used", ""]
        lines += [
            f"- {md_code(w.check)} on {md_code(w.resource)}: {md_text(w.reason)} "
            f"({md_text(w.owner)}, until {w.expires})"
            for w in r.waivers_used
        ] or ["- none"]
        for title, items in (
            ("Waiver problems (these fail the gate)", r.waiver_problems),
            ("Waiver warnings", r.waiver_warnings),
            ("Allowances", r.allowances),
        ):
            if items:
                lines += ["", f"### {title}", ""] + [f"- {md_text(x)}" for x in items]
        skipped = not_enforced(env, r, blueprint)
        lines += ["", "### checkov checks the packs do not enforce", ""]
        lines += [f"- {md_code(k)}: {md_text(v)}" for k, v in skipped.items()] or ["- none"]
        lines.append("")
    return "\n".join(lines)


# --- sarif -------------------------------------------------------------------------------------------

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning reads `security-severity` (0.1-10): >= 9 critical, >= 7 high, >= 4 medium, else low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


def _pascal(text: str) -> str:
    """A rule's `name` (SARIF: an identifier a person can read, not the id): 'IAM has no *' -> IamHasNo."""
    words = re.findall(r"[A-Za-z0-9]+", text)
    return "".join(w[:1].upper() + w[1:].lower() for w in words) or "Rule"


def _doc_of(rule_id: str) -> str:
    """The rule module's docstring without its leading id, or ''."""
    r = all_rules().get(rule_id)
    doc = (sys.modules[r.module].__doc__ or "") if r and r.module in sys.modules else ""
    return re.sub(r"^\s*" + re.escape(rule_id) + r":\s*", "", doc).strip()


def _descriptor(rule: str, name: str, severity: str, source: str) -> dict:
    r = all_rules().get(rule)
    if source == "checkov":
        tags, full = ["security", "checkov", "terraform"], f"checkov built-in check {rule}: {name}."
        fix = "Fix the resource in the blueprint or in its construct"
    elif rule in GATE_RULES:
        tags = ["security", "waiver"]
        full = f"{name}. An expired waiver, or one naming an unknown check, fails the gate."
        fix = "Renew the waiver with a new `expires` date, correct its `check`, or fix the finding and remove it"
    else:
        tags = ["security", *(x for x in (r.category, r.layer, r.cloud) if x)] if r else ["security"]
        full = _doc_of(rule) or f"{name}."
        fix = "Fix the blueprint or the resource it makes"
    waive = (
        "or waive the finding in the blueprint's `policies.waivers` "
        "(check, resource, reason of at least 10 characters, owner, expires)."
    )
    help_text = f"{fix}." if rule in GATE_RULES else f"{fix}, {waive}"
    return {
        "id": rule,
        "name": _pascal(name),
        "shortDescription": {"text": name},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[severity], "tags": tags, "problem.severity": severity},
    }


def artifact_uri(path: Path) -> str:
    """The blueprint's URI as GitHub wants it: relative to the checkout (the working directory) when
    it is inside it, percent-encoded; a file: URI otherwise."""
    p = Path(path)
    try:
        rel = p.resolve().relative_to(Path.cwd().resolve()) if p.is_absolute() else p
    except ValueError:
        return p.resolve().as_uri()
    if ".." in rel.parts:
        return p.resolve().as_uri()
    return quote(rel.as_posix())


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


class _Run:
    """One SARIF run: one tool's results for one environment."""

    def __init__(self, tool: dict, env: str, category: str, blueprint: LoadedBlueprint | None):
        self.tool, self.env, self.category, self.blueprint = tool, env, category, blueprint
        self.rules: dict[str, dict] = {}
        self.results: list[dict] = []
        self.fingerprints: set[str] = set()

    def _fingerprint(self, rule: str, field: str, logical: str, text: str) -> str:
        """Stable across runs for one (environment, rule, field, resource); a second result of a rule on
        the same resource (another message) gets its own, so that no two results share one."""
        fp = _fingerprint(self.env, rule, field, logical)
        if fp in self.fingerprints:
            fp = _fingerprint(self.env, rule, field, logical, text)
        self.fingerprints.add(fp)
        return fp

    def add(
        self, rule: str, name: str, severity: str, source: str, text: str, field: str, logical: str, **extra: object
    ) -> dict:
        if rule not in self.rules:
            self.rules[rule] = _descriptor(rule, name, severity, source)
        location: dict = {"logicalLocations": [{"fullyQualifiedName": sarif_text(logical), "kind": "resource"}]}
        if self.blueprint is not None:
            location["physicalLocation"] = {
                "artifactLocation": {"uri": artifact_uri(self.blueprint.path)},
                "region": {"startLine": self.blueprint.line_of(field, self.env)},
            }
        result = {
            "ruleId": rule,
            "ruleIndex": list(self.rules).index(rule),
            "level": LEVEL[severity],
            "message": {"text": sarif_text(text)},
            "locations": [location],
            "partialFingerprints": {"mlopsBlueprintFinding/v1": self._fingerprint(rule, field, logical, text)},
            **extra,
        }
        self.results.append(result)
        return result

    def sarif(self, successful: bool, properties: dict, notifications: dict) -> dict:
        driver = dict(self.tool, rules=list(self.rules.values()))
        return {
            "tool": {"driver": driver},
            "automationDetails": {"id": self.category},
            "invocations": [{"executionSuccessful": successful, "properties": properties, **notifications}],
            "results": self.results,
        }


def _version() -> dict:
    try:
        return {"semanticVersion": importlib.metadata.version(TOOL)}
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return {}


def _notification(text: str, level: str, descriptor: str | None = None) -> dict:
    out: dict = {"message": {"text": sarif_text(text)}, "level": level}
    if descriptor:
        out["descriptor"] = {"id": descriptor}
    return out


def to_sarif(reports: dict[str, Report], min_severity: str, blueprint: LoadedBlueprint | None = None) -> str:
    """Two runs per environment: this project's rules and the gate's own problems, then checkov's.

    checkov's findings go to a run of their own whose `tool.driver` is checkov, rather than to an
    extension of ours: GitHub code scanning files, filters and dismisses alerts by the driver's name,
    so checkov's built-in checks show as checkov's (and our rules as ours), and a run per (tool,
    environment) gives each its own `automationDetails.id` category, which GitHub requires to be
    unique per run in one upload.

    `invocations[].executionSuccessful` follows the SARIF definition: false when a rule or checkov
    crashed (the gate then fails closed), true when every check ran, whatever it found. The gate's
    verdict is in the invocation's properties (`gate`: pass or fail, and the threshold).
    """
    prefix = f"{TOOL}/{blueprint.name}" if blueprint is not None else TOOL
    runs = []
    for env, r in reports.items():
        ours = _Run({"name": TOOL, **_version()}, env, f"{prefix}/{env}/", blueprint)
        theirs = _Run(
            {"name": "checkov", "informationUri": "https://www.checkov.io/"}, env, f"{prefix}/{env}/checkov/", blueprint
        )
        for f in dict.fromkeys(r.findings):  # each finding once, in the order the gate found them
            if f.passed:
                continue
            run = theirs if f.source == "checkov" else ours
            extra: dict = {
                "properties": {
                    "environment": env,
                    "severity": f.severity,
                    "component": sarif_text(f.subject),
                    "blocksGate": f in r.failures(min_severity),
                }
            }
            if f.waived_by:
                extra["suppressions"] = [
                    {"kind": "external", "status": "accepted", "justification": sarif_text(f.waived_by)}
                ]
            run.add(
                f.rule,
                f.name,
                f.severity,
                f.source,
                f"[{env}] {f.subject}: {f.message or f.name}",
                f.subject,
                f.address,
                **extra,
            )
        for p in gate_problems(r):
            ours.add(
                p.rule,
                GATE_RULES[p.rule][0],
                "high",
                "gate",
                f"[{env}] {p.text}",
                p.field,
                p.field,
                properties={"environment": env, "blocksGate": True},
            )
        crashed = [f for f in r.findings if f.error]
        properties = {"environment": env, "gate": "pass" if r.ok(min_severity) else "fail", "minSeverity": min_severity}
        notes = {
            "toolExecutionNotifications": [_notification(f"{f.rule}: {f.message}", "error") for f in crashed]
            + [_notification(w, "warning") for w in r.waiver_warnings]
            + [_notification(a, "note") for a in r.allowances],
            "toolConfigurationNotifications": [
                _notification(f"checkov {k} is not enforced by the packs: {v}", "note", k)
                for k, v in not_enforced(env, r, blueprint).items()
            ],
        }
        runs.append(ours.sarif(not any(f.source != "checkov" for f in crashed), properties, notes))
        if any(f.source == "checkov" for f in r.findings):
            ran = not any(f.source == "checkov" for f in crashed)
            runs.append(theirs.sarif(ran, properties, {}))
    return json.dumps({"version": "2.1.0", "$schema": SARIF_SCHEMA, "runs": runs}, indent=2)


# --- junit -------------------------------------------------------------------------------------------


def _x(text: object) -> str:
    """Text XML 1.0 can hold, with no control, bidi or zero-width character (`text.xml_text`);
    ElementTree escapes the markup characters, quotes and newlines in attributes included."""
    return xml_text(text)


def to_junit(reports: dict[str, Report], min_severity: str, blueprint: LoadedBlueprint | None = None) -> str:
    """One <testsuite> per environment, one <testcase> per finding and per waiver problem.

    A failure the gate does not fail on (below --min-severity) is <skipped> with the reason, as is a
    waived one, so that a passing gate never shows a failing test; a crashed rule or a missing checkov
    is an <error>."""
    root = ET.Element("testsuites", name="policy gate")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for env, r in reports.items():
        suite = ET.SubElement(root, "testsuite", name=_x(f"policy-{env}"))
        counts = dict.fromkeys(totals, 0)
        for f in ordered(r.findings):
            case = ET.SubElement(suite, "testcase", classname=_x(f.rule), name=_x(f.address), time="0")
            counts["tests"] += 1
            if f.passed:
                continue
            if f.error:
                ET.SubElement(case, "error", message=_x(f.message), type=_x(f.severity)).text = _x(f.name)
                counts["errors"] += 1
            elif f.waived_by:
                ET.SubElement(case, "skipped", message=_x(f"waived: {f.waived_by}"))
                counts["skipped"] += 1
            elif below_threshold(f, min_severity):
                ET.SubElement(
                    case,
                    "skipped",
                    message=_x(
                        f"{f.severity} is below the gate's threshold (--min-severity {min_severity}): {f.message}"
                    ),
                )
                counts["skipped"] += 1
            else:
                ET.SubElement(case, "failure", message=_x(f.message), type=_x(f.severity)).text = _x(f.name)
                counts["failures"] += 1
        for p in gate_problems(r):
            case = ET.SubElement(suite, "testcase", classname=p.rule, name=_x(p.field), time="0")
            ET.SubElement(case, "failure", message=_x(p.text), type="high").text = GATE_RULES[p.rule][0]
            counts["tests"] += 1
            counts["failures"] += 1
        out = [
            f"waiver used: {w.check} on {w.resource}: {w.reason} ({w.owner}, until {w.expires})" for w in r.waivers_used
        ]
        out += [f"waiver warning: {w}" for w in r.waiver_warnings] + [f"allowance: {a}" for a in r.allowances]
        out += [f"checkov {k} not enforced by the packs: {v}" for k, v in not_enforced(env, r, blueprint).items()]
        if out:
            ET.SubElement(suite, "system-out").text = _x("\n".join(out))
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", "0")
    for k in ("tests", "failures", "errors"):
        root.set(k, str(totals[k]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


RENDER = {"json": to_json, "markdown": to_markdown, "sarif": to_sarif, "junit": to_junit}
