"""The gate: blueprint rules, resource rules (own pack + checkov) and change rules, with waivers."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.policies import change, packs
from mlops_blueprint.policies.engine import Finding, Report, Rule, Waiver, all_rules, apply_waivers, run_rule
from mlops_blueprint.policies.tfjson import Doc

CHECKOV_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")


def waivers_of(env: ResolvedEnv) -> list[Waiver]:
    return [Waiver(w.check, w.resource, w.reason, w.owner, w.expires) for w in env.blueprint.policies.waivers]


def blueprint_layer(env: ResolvedEnv, enforced: set[str]) -> list[Finding]:
    out = []
    for r in all_rules().values():
        if r.layer == "blueprint" and r.id in enforced:
            out += run_rule(r, lambda a: a, env.blueprint, env.name)
    return out


def resource_rules_for(doc: Doc, enforced: set[str]) -> list[Rule]:
    """The enforced resource rules of the stack's cloud (its registered `rules_package`) that read a
    resource type the stack holds. A stack of no registered cloud gets none."""
    cloud = registry.cloud_of_doc(doc.doc)
    if cloud is None:
        return []
    held = {t for t, items in doc.res.items() if items}
    return [
        r
        for r in all_rules().values()
        if r.layer == "resource" and r.id in enforced and r.in_package(cloud.rules_package) and r.reads_any(held)
    ]


def resource_layer(json_path: Path, enforced: set[str]) -> list[Finding]:
    """The project's own resource rules on one synthesized stack (see `resource_rules_for`)."""
    doc = Doc(json.loads(Path(json_path).read_text()))
    out = []
    for r in resource_rules_for(doc, enforced):
        out += run_rule(r, doc.subject, doc)
    return out


def checkov_for(env: ResolvedEnv, json_path: Path) -> list[Finding]:
    """checkov with the environment's packs' exclusions (for running it beside terraform)."""
    return checkov_layer(json_path, packs.resolve(list(env.blueprint.policies.packs))[1])


def checkov_layer(json_path: Path, skip: dict[str, str]) -> list[Finding]:
    """checkov's built-ins on the same JSON; missing or crashing checkov is a failed finding (fail closed)."""
    from mlops_blueprint.policies import checkov_runner

    try:
        return checkov_runner.run(Path(json_path), Doc(json.loads(Path(json_path).read_text())), skip)
    except checkov_runner.CheckovUnavailable as exc:
        return [
            Finding(
                "CHECKOV",
                "checkov ran",
                "critical",
                "resource",
                "(checkov)",
                "(checkov)",
                False,
                str(exc),
                source="checkov",
                error=True,
            )
        ]


def evaluate(
    env: ResolvedEnv,
    *,
    json_path: Path | None = None,
    plan: dict | None = None,
    allow_destroy: tuple[str, ...] = (),
    with_checkov: bool = True,
    checkov: list[Finding] | None = None,
    today: dt.date | None = None,
) -> Report:
    """All layers that have input: blueprint always, resources when synthesized, change when planned.
    The packs select the blueprint and resource rules; the change rules run on every plan.

    `checkov`: findings already computed (e.g. while terraform planned); omitted, checkov runs here."""
    enforced, skip = packs.resolve(list(env.blueprint.policies.packs))
    report = Report()
    report.findings += blueprint_layer(env, enforced)
    if json_path is not None:
        report.findings += resource_layer(json_path, enforced)
        if checkov is not None:
            report.findings += checkov
        elif with_checkov:
            report.findings += checkov_layer(json_path, skip)
        report.notes += [f"checkov {k} not enforced by the packs: {v}" for k, v in sorted(skip.items())]
    if plan is not None:
        report.findings += change.findings_for_plan(plan, allow_destroy)
        report.allowances = change.allowances_used(plan, allow_destroy)
    known = set(all_rules()) | {w.check for w in waivers_of(env) if CHECKOV_ID.match(w.check)}
    return apply_waivers(report, waivers_of(env), known, today or dt.date.today())
