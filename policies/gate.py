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
# The provider token of a checkov id: CKV_<TOKEN>_12, CKV2_<TOKEN>_3.
CHECKOV_TOKEN = re.compile(r"^CKV2?_([A-Z0-9]+)_\d+$")


def waivers_of(env: ResolvedEnv) -> list[Waiver]:
    return [Waiver(w.check, w.resource, w.reason, w.owner, w.expires) for w in env.blueprint.policies.waivers]


def checkov_on_cloud(check: str, cloud: str) -> bool:
    """Whether a checkov check can run on a stack of `cloud`: its provider token (CKV_<TOKEN>_n) is that
    cloud's registered name, or names no registered cloud (cloud-neutral: Kubernetes, secrets, ...)."""
    m = CHECKOV_TOKEN.match(check)
    token = m[1] if m else ""
    return token == cloud.upper() or token not in {n.upper() for n in registry.NAMES}


def checkov_not_enforced(env: ResolvedEnv) -> dict[str, str]:
    """The checkov checks the environment's packs do not enforce, with their reasons, sorted: only those
    that could run on the environment's cloud (a pack names every cloud's, and an AWS blueprint's report
    has no use for the Azure ones)."""
    cloud = env.blueprint.target.cloud
    skip = packs.resolve(list(env.blueprint.policies.packs))[1]
    return {k: v for k, v in sorted(skip.items()) if checkov_on_cloud(k, cloud)}


def environment(stacks: list[tuple[str, Report]]) -> tuple[Report, list[tuple[str, Report]]]:
    """One environment's gate over its stacks (the cloud stack first, then its cluster stack), and what
    each stack's own gate shows.

    The environment's report holds every finding once (the blueprint rules run with each stack and
    find the same), every waiver used, and a waiver "matched nothing" only if it matched nothing in any
    stack. The first stack shows the environment's waiver problems, warnings and notes; each later stack
    shows only the findings no earlier stack showed and the waivers it used itself."""
    report = stacks[0][1]
    for _, other in stacks[1:]:
        report = report.merged(other)
    views: list[tuple[str, Report]] = []
    shown: list[Finding] = []
    used: list[Waiver] = []
    allowed: list[str] = []
    for i, (stack, r) in enumerate(stacks):
        own = [f for f in r.findings if f not in shown]
        waivers = [w for w in r.waivers_used if w not in used]
        allowances = [a for a in r.allowances if a not in allowed]
        shown, used, allowed = shown + own, used + waivers, allowed + allowances
        if i == 0:
            view = Report(own, waivers, report.waiver_problems, report.waiver_warnings, allowances, report.notes)
        else:
            view = Report(own, waivers, allowances=allowances)
        views.append((stack, view))
    return report, views


def later_stack_view(report: Report) -> Report:
    """What a later stack of an environment (its cluster stack, gated on its own by `up`) shows, once
    the first stack's gate has shown the environment's: its own findings without the blueprint rules'
    (the same in every stack), the waivers those findings used, and no waiver problem, warning or
    checkov exclusion (those are the environment's, shown once)."""
    findings = [f for f in report.findings if f.layer != "blueprint"]
    used = [w for w in report.waivers_used if any(f.waived_by and w.matches(f) for f in findings)]
    return Report(findings, used, allowances=list(report.allowances))


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
        report.notes += [f"checkov {k} not enforced by the packs: {v}" for k, v in checkov_not_enforced(env).items()]
    if plan is not None:
        report.findings += change.findings_for_plan(plan, allow_destroy)
        report.allowances = change.allowances_used(plan, allow_destroy)
    known = set(all_rules()) | {w.check for w in waivers_of(env) if CHECKOV_ID.match(w.check)}
    return apply_waivers(report, waivers_of(env), known, today or dt.date.today())
