"""The policy engine: rules, findings, waivers. Pure Python, no provider bindings.

Three layers:
- blueprint rules: functions of the validated Blueprint (fast, no synth);
- resource rules: functions of a synthesized Terraform JSON document (`cdk.tf.json`), one file per rule
  under `policies/rules/<cloud>/`, each with a pass and a fail fixture;
- change rules: the data-loss guard on a Terraform plan JSON (`policies/change.py`).

A rule that raises counts as a failure (fail closed) and its error is shown.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

SEVERITIES = ("critical", "high", "medium", "low")
RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Rule:
    id: str
    name: str  # phrased as the desired outcome
    severity: str
    category: str
    layer: str  # blueprint | resource | change
    cloud: str | None
    check: Callable
    applies_to: tuple[str, ...] = ()  # resource types the rule reads (resource rules)


@dataclass(frozen=True)
class Finding:
    rule: str
    name: str
    severity: str
    layer: str
    subject: str  # blueprint logical name (e.g. data_lake.raw) or terraform address
    address: str  # terraform address or field path
    passed: bool
    message: str = ""
    source: str = "mlops"  # mlops | checkov
    waived_by: str | None = None  # waiver owner + reason when waived
    error: bool = False  # the rule itself crashed


@dataclass(frozen=True)
class Waiver:
    check: str
    resource: str
    reason: str
    owner: str
    expires: dt.date

    def matches(self, f: Finding) -> bool:
        return self.check == f.rule and (f.subject == self.resource or f.subject.startswith(self.resource + ".")
                                         or f.address == self.resource)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    waivers_used: list[Waiver] = field(default_factory=list)
    waiver_problems: list[str] = field(default_factory=list)  # expired / unknown check: these fail
    waiver_warnings: list[str] = field(default_factory=list)  # matched nothing
    allowances: list[str] = field(default_factory=list)  # data-loss allowances that let a change through
    notes: list[str] = field(default_factory=list)

    def failures(self, min_severity: str = "low") -> list[Finding]:
        limit = RANK[min_severity]
        return [f for f in self.findings if not f.passed and f.waived_by is None and RANK[f.severity] <= limit]

    def ok(self, min_severity: str = "low") -> bool:
        return not self.failures(min_severity) and not self.waiver_problems


_REGISTRY: dict[str, Rule] = {}
_LOADED: list[bool] = []


def rule(*, id: str, name: str, severity: str, category: str, layer: str = "resource", cloud: str | None = "aws",
         applies_to: Iterable[str] = ()) -> Callable:
    """Decorator: register `fn` as a rule. Resource rules yield (address, passed, message)."""
    assert severity in SEVERITIES, severity
    assert re.fullmatch(r"MLOPS_[A-Z]+_\d{3}", id), id

    def deco(fn: Callable) -> Callable:
        if id in _REGISTRY:
            raise ValueError(f"duplicate rule id {id}")
        _REGISTRY[id] = Rule(id, name, severity, category, layer, cloud, fn, tuple(applies_to))
        return fn

    return deco


def all_rules() -> dict[str, Rule]:
    if not _LOADED:
        _LOADED.append(True)
        import mlops_blueprint.policies.rules as pkg

        for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            importlib.import_module(mod.name)
        import mlops_blueprint.policies.change  # noqa: F401  (registers the change rules)
    return dict(sorted(_REGISTRY.items()))


def apply_waivers(report: Report, waivers: Iterable[Waiver], known_ids: set[str], today: dt.date) -> Report:
    waivers = list(waivers)
    used: set[int] = set()
    for i, w in enumerate(waivers):
        if w.check not in known_ids:
            report.waiver_problems.append(f"waiver {i + 1} names unknown check {w.check!r}")
        if w.expires < today:
            report.waiver_problems.append(f"waiver {i + 1} for {w.check} on {w.resource} expired on {w.expires} "
                                          f"(owner {w.owner}); renew it with a new date or fix the finding")
    out = []
    for f in report.findings:
        if not f.passed and not f.error:
            for i, w in enumerate(waivers):
                if w.matches(f) and w.expires >= today:
                    f = replace(f, waived_by=f"{w.owner}: {w.reason} (until {w.expires})")
                    used.add(i)
                    break
        out.append(f)
    report.findings = out
    report.waivers_used = [w for i, w in enumerate(waivers) if i in used]
    for i, w in enumerate(waivers):
        if i not in used and w.check in known_ids:
            report.waiver_warnings.append(f"waiver {i + 1} for {w.check} on {w.resource} matched nothing")
    return report


def run_rule(r: Rule, subject_of: Callable[[str], str], *args) -> list[Finding]:
    """Run one resource/blueprint rule; a crash is a failed finding that shows the error."""
    try:
        results = list(r.check(*args))
    except Exception as exc:  # fail closed
        return [Finding(r.id, r.name, r.severity, r.layer, "(rule)", "(rule)", False,
                        f"rule crashed: {type(exc).__name__}: {exc}", error=True)]
    return [Finding(r.id, r.name, r.severity, r.layer, subject_of(addr), addr, ok, msg) for addr, ok, msg in results]
