"""Gate reports: a terminal table (most severe first) and json, markdown, sarif, junit files."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from mlops_blueprint.policies.engine import RANK, Finding, Report

FORMATS = ("json", "markdown", "sarif", "junit")


def ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.passed, f.waived_by is not None, RANK[f.severity], f.rule, f.address))


def to_json(reports: dict[str, Report], min_severity: str) -> str:
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
            }
            for env, r in reports.items()
        },
        indent=2,
    )


def to_markdown(reports: dict[str, Report], min_severity: str) -> str:
    lines = ["# Policy gate", ""]
    for env, r in reports.items():
        failed = [f for f in r.findings if not f.passed]
        lines += [
            f"## {env}: {'PASS' if r.ok(min_severity) else 'FAIL'}",
            f"{sum(f.passed for f in r.findings)} passed, {len(failed)} failed "
            f"({sum(f.waived_by is not None for f in failed)} waived)",
            "",
        ]
        if failed:
            lines += ["| severity | rule | resource | message | waived |", "|---|---|---|---|---|"]
            lines += [
                f"| {f.severity} | {f.rule} | {f.subject} | {f.message} | {f.waived_by or ''} |"
                for f in ordered(failed)
            ]
        lines += ["", "Waivers used:"] + [
            f"- {w.check} on {w.resource}: {w.reason} ({w.owner}, until {w.expires})" for w in r.waivers_used
        ] or ["- none"]
        lines += [f"- problem: {p}" for p in r.waiver_problems] + [f"- warning: {p}" for p in r.waiver_warnings]
        lines += [f"- allowance: {a}" for a in r.allowances] + [""]
    return "\n".join(lines)


def to_sarif(reports: dict[str, Report], min_severity: str) -> str:
    level = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
    results, rules = [], {}
    for env, r in reports.items():
        for f in r.findings:
            if f.passed:
                continue
            rules[f.rule] = {"id": f.rule, "name": f.rule, "shortDescription": {"text": f.name}}
            res = {
                "ruleId": f.rule,
                "level": level[f.severity],
                "message": {"text": f"[{env}] {f.subject}: {f.message}"},
                "locations": [{"logicalLocations": [{"fullyQualifiedName": f.address}]}],
            }
            if f.waived_by:
                res["suppressions"] = [{"kind": "external", "justification": f.waived_by}]
            results.append(res)
    return json.dumps(
        {
            "version": "2.1.0",
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [
                {"tool": {"driver": {"name": "mlops-blueprint", "rules": list(rules.values())}}, "results": results}
            ],
        },
        indent=2,
    )


def to_junit(reports: dict[str, Report], min_severity: str) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>"]
    for env, r in reports.items():
        fails = [f for f in r.findings if not f.passed and f.waived_by is None]
        out.append(f'<testsuite name="policy-{escape(env)}" tests="{len(r.findings)}" failures="{len(fails)}">')
        for f in ordered(r.findings):
            out.append(f'<testcase classname="{escape(f.rule)}" name="{escape(f.address)}">')
            if not f.passed and f.waived_by is None:
                out.append(f'<failure message="{escape(f.message, {chr(34): "&quot;"})}">{escape(f.name)}</failure>')
            elif f.waived_by:
                out.append(f'<skipped message="{escape(f.waived_by, {chr(34): "&quot;"})}"/>')
            out.append("</testcase>")
        out.append("</testsuite>")
    out.append("</testsuites>")
    return "\n".join(out)


RENDER = {"json": to_json, "markdown": to_markdown, "sarif": to_sarif, "junit": to_junit}
