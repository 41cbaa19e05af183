"""The policy engine: rules, findings, waivers. Pure Python, no provider bindings.

Three layers, one folder each under `policies/rules/`, one rule per file:
- blueprint rules (`rules/blueprint/`): functions of the validated Blueprint (fast, no synth);
- resource rules (`rules/<cloud>/`): functions of a synthesized Terraform JSON document
  (`cdk.tf.json`), each with a pass and a fail fixture; a rule declares the resource types it reads
  (`applies_to`) and its cloud is the folder it lives in;
- change rules (`rules/change/`): functions of a Terraform plan JSON (the data-loss guard);
  `policies/change.py` reads the plan and runs them.

`all_rules()` imports every module under `policies/rules/`; importing a rule file registers it. This
module imports no rule and no layer helper. Packs (`policies/packs.py`) say which rules a blueprint
is held to. A rule that raises counts as a failure (fail closed) and its error is shown.
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
LAYERS = ("blueprint", "resource", "change")
RULES_PACKAGE = "mlops_blueprint.policies.rules"
NEUTRAL_FOLDERS = ("blueprint", "change")  # folders under rules/ that hold a layer, not a cloud
ANY_TYPE = "*"  # applies_to=(ANY_TYPE,): the rule reads every resource of the stack


def cloud_of_module(module: str) -> str | None:
    """The cloud of a rule defined in `module`: `policies.rules.<cloud>.<file>` -> <cloud>;
    None for the cloud-neutral folders (blueprint, change) and for modules outside `policies/rules/`."""
    if not module.startswith(RULES_PACKAGE + "."):
        return None
    folder = module[len(RULES_PACKAGE) + 1 :].split(".")[0]
    return None if folder in NEUTRAL_FOLDERS else folder


@dataclass(frozen=True)
class Rule:
    id: str
    name: str  # phrased as the desired outcome
    severity: str
    category: str
    layer: str  # blueprint | resource | change
    check: Callable
    applies_to: tuple[str, ...] = ()  # resource types the rule reads (resource rules: never empty)
    module: str = ""  # the module that defines the rule; its folder under policies/rules/ is its cloud

    @property
    def cloud(self) -> str | None:
        """The cloud folder the rule lives in (`policies/rules/<cloud>/`); None when cloud-neutral."""
        return cloud_of_module(self.module)

    def in_package(self, package: str) -> bool:
        """Whether the rule is defined under `package` (a cloud's `rules_package`)."""
        return self.module.startswith(package + ".")

    def reads_any(self, types: Iterable[str]) -> bool:
        """Whether a document holding resources of `types` gives the rule something to read."""
        return ANY_TYPE in self.applies_to or not set(self.applies_to).isdisjoint(types)


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
        return self.check == f.rule and (
            f.subject == self.resource or f.subject.startswith(self.resource + ".") or f.address == self.resource
        )


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

    def merged(self, other: Report) -> Report:
        """One environment's report over two stacks (the cloud stack and its cluster stack): the findings,
        waivers and notes of both, each once (the blueprint rules run with every stack and find the same);
        a waiver matched nothing only if it matched nothing in either."""

        def union(a: list, b: list) -> list:
            return list(dict.fromkeys(a + b))

        return Report(
            findings=union(self.findings, other.findings),
            waivers_used=union(self.waivers_used, other.waivers_used),
            waiver_problems=union(self.waiver_problems, other.waiver_problems),
            waiver_warnings=[w for w in self.waiver_warnings if w in other.waiver_warnings],
            allowances=union(self.allowances, other.allowances),
            notes=union(self.notes, other.notes),
        )


_REGISTRY: dict[str, Rule] = {}
_LOADED: list[bool] = []


def register(
    *,
    id: str,
    name: str,
    severity: str,
    category: str,
    layer: str,
    check: Callable,
    applies_to: Iterable[str] = (),
    module: str,
) -> Rule:
    """Register one rule (the `rule` decorator and `policies.checks.value_rule` call this).

    Refuses a malformed id, an unknown severity or layer, a duplicate id, and a resource rule that
    does not say which resource types it reads."""
    applies_to = tuple(applies_to)
    if not re.fullmatch(r"MLOPS_[A-Z][A-Z0-9]*_\d{3}", id):
        raise ValueError(f"rule id {id!r} must look like MLOPS_<AREA>_<3 digits>, e.g. MLOPS_AWS_001")
    if severity not in SEVERITIES:
        raise ValueError(f"{id}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if layer not in LAYERS:
        raise ValueError(f"{id}: layer {layer!r} is not one of {', '.join(LAYERS)}")
    if layer == "resource" and not applies_to:
        raise ValueError(
            f"{id}: a resource rule must name the resource types it reads in applies_to "
            f"(or applies_to=({ANY_TYPE!r},) when it reads every resource)"
        )
    if id in _REGISTRY:
        raise ValueError(f"duplicate rule id {id} (in {module} and {_REGISTRY[id].module})")
    _REGISTRY[id] = r = Rule(id, name, severity, category, layer, check, applies_to, module)
    return r


def rule(
    *, id: str, name: str, severity: str, category: str, layer: str = "resource", applies_to: Iterable[str] = ()
) -> Callable:
    """Decorator: register `fn` as a rule; its cloud is the folder of its module.

    Blueprint rules take (blueprint, env name), resource rules a `tfjson.Doc`, change rules (plan,
    allowances); each yields (address or field path, passed, message)."""

    def deco(fn: Callable) -> Callable:
        register(
            id=id,
            name=name,
            severity=severity,
            category=category,
            layer=layer,
            check=fn,
            applies_to=applies_to,
            module=fn.__module__,
        )
        return fn

    return deco


def all_rules() -> dict[str, Rule]:
    """Every rule under `policies/rules/`, by id (importing a rule file registers it)."""
    if not _LOADED:
        _LOADED.append(True)
        pkg = importlib.import_module(RULES_PACKAGE)
        for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            importlib.import_module(mod.name)
    return dict(sorted(_REGISTRY.items()))


def apply_waivers(report: Report, waivers: Iterable[Waiver], known_ids: set[str], today: dt.date) -> Report:
    waivers = list(waivers)
    used: set[int] = set()
    for i, w in enumerate(waivers):
        if w.check not in known_ids:
            report.waiver_problems.append(f"waiver {i + 1} names unknown check {w.check!r}")
        if w.expires < today:
            report.waiver_problems.append(
                f"waiver {i + 1} for {w.check} on {w.resource} expired on {w.expires} "
                f"(owner {w.owner}); renew it with a new date or fix the finding"
            )
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
        # an unknown check or an expired waiver is a problem already, said once: not also "matched nothing"
        if i not in used and w.check in known_ids and w.expires >= today:
            report.waiver_warnings.append(f"waiver {i + 1} for {w.check} on {w.resource} matched nothing")
    return report


def run_rule(r: Rule, subject_of: Callable[[str], str], *args) -> list[Finding]:
    """Run one rule of any layer on `args`; a crash is a failed finding that shows the error.

    `subject_of` maps each address the rule yields to its blueprint name (the finding's subject)."""
    try:
        results = list(r.check(*args))
    except Exception as exc:  # fail closed
        return [
            Finding(
                r.id,
                r.name,
                r.severity,
                r.layer,
                "(rule)",
                "(rule)",
                False,
                f"rule crashed: {type(exc).__name__}: {exc}",
                error=True,
            )
        ]
    return [Finding(r.id, r.name, r.severity, r.layer, subject_of(addr), addr, ok, msg) for addr, ok, msg in results]
