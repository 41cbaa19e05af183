"""`review`: one pull-request comment that says what a blueprint change does to every environment.

    from mlops_blueprint.scripts import pipeline, review
    loaded = pipeline.validate("blueprint.yaml")
    r = review.review(loaded, base="origin/main", local=True)
    print(review.to_markdown(r)); raise SystemExit(r.exit_code)

For each environment (planned in parallel by `pipeline.plan_each`, or read from `--plan-dir`):
the blueprint diff in the blueprint's own words (overrides resolved per environment), the risky
changes first (a destroy or replace of anything stateful, blocked by the data-loss guard or let
through by `--allow-destroy`), the changes grouped by blueprint component, the policy gate (failures,
waivers used, waivers expiring within 30 days), the monthly cost before -> after (minimum to maximum
scale, `blueprints/cost.py`), a Mermaid diagram with the changed components highlighted, and the plan
per Terraform address in a collapsed block. `to_json` carries the same content.

The markdown fits a GitHub comment (65,536 characters): the per-address details are cut first (with a
note), then the diagrams, then the long tables; the verdict and the risky changes never are.

Exit codes: 0 may merge; `EXIT_MAY_NOT_MERGE` (7) when a gate fails, a risky change is not allowed
or an environment could not be planned; user errors stay 2, a missing tool 3.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.cost import Estimate, estimate_env, usd
from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.files import MAX_PLAN_BYTES, UnreadableFile, read_untrusted
from mlops_blueprint.blueprints.loader import LoadedBlueprint, ResolvedEnv, load, loads
from mlops_blueprint.blueprints.model import Blueprint
from mlops_blueprint.blueprints.text import md_block, md_code, md_text
from mlops_blueprint.policies.change import COMPONENTS, NotAPlan, allowance_for, subject_of, validate_plan
from mlops_blueprint.scripts import diagram
from mlops_blueprint.scripts.events import Event, Note

EXIT_MAY_NOT_MERGE = 7
GITHUB_LIMIT = 65_536
EXPIRY_WINDOW_DAYS = 30
ACTIONS = ("add", "change", "replace", "destroy")
GUARD = "MLOPS_CHG_001"
_HASH = re.compile(r"_[0-9A-F]{8}$")
# Construct scopes that belong to a component under another name: the cluster stack's (the training
# cluster's in-cluster layer: node pools, queues, its namespaces).
ALIASES = {"pools": "training", "k8s": "training"}
# CI templates put their own marker line (`<!-- mlops-blueprint-review -->`) above the comment to find it
# again: the markdown leaves room for it within GitHub's limit.
MARKER_ROOM = 100


class BadBase(UserError):
    """`--base` names neither a file nor a git ref that holds the blueprint (exit 2)."""


class PlanDirError(UserError):
    """`--plan-dir` lacks a plan for an environment, or a file is not a Terraform plan (exit 2)."""


# --- the result ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    """One difference between the base and the proposed blueprint; `scope` is an environment or `all`."""

    scope: str
    path: str
    kind: str  # changed | added | removed
    before: Any = None
    after: Any = None

    @property
    def text(self) -> str:
        if self.kind == "changed":
            return f"{self.scope}: {self.path} {_value(self.before)} → {_value(self.after)}"
        return f"{self.scope}: {self.path} {self.kind}"


@dataclass(frozen=True)
class Change:
    address: str
    type: str
    action: str  # add | change | replace | destroy
    component: str  # data_lake.raw, serving.fraud-api, baseline, ...


@dataclass(frozen=True)
class Risky:
    """A destroy or replace of a stateful resource and what the gate says of it."""

    address: str
    component: str
    action: str  # destroy | replace
    kind: str  # what the cloud calls it (lake bucket, key, ...)
    status: str  # blocked | allowed | waived
    detail: str  # "blocked by the data-loss guard ..." / "allowed by --allow-destroy data_lake.curated"


@dataclass
class Gate:
    passed: bool
    failures: list[dict[str, str]] = field(default_factory=list)  # rule, severity, subject, address, message
    problems: list[str] = field(default_factory=list)  # expired waivers, unknown checks
    waivers_used: list[dict[str, str]] = field(default_factory=list)
    waivers_expiring: list[dict[str, str]] = field(default_factory=list)
    allowances: list[str] = field(default_factory=list)


@dataclass
class EnvReview:
    env: str
    stack: str
    plan_source: str  # "terraform plan" or the plan file
    error: str | None  # the plan could not be made (terraform failed): the review still reports the rest
    changes: list[Change]
    risky: list[Risky]
    gate: Gate
    cost_before: tuple[float, float] | None  # (min, max) USD per month; None: no base (or no price)
    cost_after: tuple[float, float] | None
    diagram: str
    highlighted: list[str]
    notes: list[str] = field(default_factory=list)  # e.g. a cluster stack the emulator cannot plan

    @property
    def counts(self) -> dict[str, int]:
        return {a: sum(c.action == a for c in self.changes) for a in ACTIONS}

    def groups(self) -> dict[str, dict[str, int]]:
        """component -> action counts, in component order (`data_lake.raw` before `serving.fraud-api`)."""
        out: dict[str, dict[str, int]] = {}
        for c in sorted(self.changes, key=lambda c: (_component_rank(c.component), c.component)):
            out.setdefault(c.component, dict.fromkeys(ACTIONS, 0))[c.action] += 1
        return out

    @property
    def reasons(self) -> list[str]:
        """Why this environment may not merge (empty: it may)."""
        out = []
        if self.error:
            out.append("the plan failed")
        blocked = [r for r in self.risky if r.status == "blocked"]
        if blocked:
            out.append(f"the data-loss guard blocks {len(blocked)} risky change(s)")
        others = [f for f in self.gate.failures if not (f["rule"] == GUARD and blocked)]
        if others or self.gate.problems:
            out.append(f"the policy gate fails ({len(others) + len(self.gate.problems)} problem(s))")
        return out

    @property
    def may_merge(self) -> bool:
        return not self.reasons


@dataclass
class Review:
    blueprint: str
    path: str
    base: str | None
    diff: list[DiffLine]
    envs: list[EnvReview]

    @property
    def may_merge(self) -> bool:
        return all(e.may_merge for e in self.envs)

    @property
    def exit_code(self) -> int:
        return 0 if self.may_merge else EXIT_MAY_NOT_MERGE

    @property
    def verdict(self) -> str:
        if self.may_merge:
            return "may merge: every environment plans, passes the policy gate and loses no data"
        why = "; ".join(f"{e.env}: {', '.join(e.reasons)}" for e in self.envs if e.reasons)
        return f"may not merge: {why}"


# --- building it ---------------------------------------------------------------------------------


def review(
    loaded: LoadedBlueprint,
    base: str | Path | LoadedBlueprint | None = None,
    env: str | None = None,
    plan_dir: str | Path | None = None,
    local: bool = False,
    mirror: str | None = None,
    allow_destroy: Iterable[str] = (),
    events: Callable[[Event], None] | None = None,
    outdir: Path | None = None,
    today: dt.date | None = None,
) -> Review:
    """Plan (or read the plans of) every selected environment and build the review. Never applies.

    `base`: the blueprint before the change: a file, a git ref (`git show REF:<the blueprint's path>`)
    or a loaded blueprint; None: no diff and no cost before."""
    from mlops_blueprint.scripts import pipeline

    sink = events or pipeline._quiet
    allow = tuple(allow_destroy)
    envs = loaded.select(env)
    base_loaded = load_base(base, loaded.path) if base is not None else None
    plans = read_plans(plan_dir, loaded, [e.name for e in envs]) if plan_dir is not None else None
    planned = pipeline.plan_each(
        loaded,
        env,
        local=local,
        mirror=mirror,
        outdir=outdir,
        allow_destroy=allow,
        plans=plans,
        events=sink,
    )
    diff = blueprint_diff(base_loaded, loaded, [e.name for e in envs])
    today = today or dt.date.today()
    out = []
    for e in envs:
        p = planned[e.name]
        before_env = base_loaded.envs.get(e.name) if base_loaded else None
        known = known_names(e.blueprint, before_env.blueprint if before_env else None)
        changes = changes_of(p.plan or {}, known)
        risky = risky_of(p.plan or {}, known, allow, p.report)
        highlight, removed = changed_components(diff, e.name, changes, e.blueprint)
        before = _estimate(before_env, sink) if before_env else None
        after = _estimate(e, sink)
        out.append(
            EnvReview(
                env=e.name,
                stack=p.stack,
                plan_source=str(_plan_file(plan_dir, p.stack, e.name)) if plan_dir else "terraform plan",
                error=str(p.error) if p.error else None,
                changes=changes,
                risky=risky,
                gate=gate_of(p.report, today),
                cost_before=_range(before),
                cost_after=_range(after),
                diagram=diagram.mermaid(e.blueprint, e.name, highlight=highlight, removed=removed),
                highlighted=sorted(highlight | removed),
                notes=list(p.notes),
            )
        )
    return Review(loaded.name, str(loaded.path), _base_label(base), diff, out)


def _estimate(e: ResolvedEnv, events: Callable[[Event], None]) -> Estimate | None:
    """The cost estimate, or None (with a note) when the price file lacks a price: a review is not
    refused for want of a price."""
    try:
        return estimate_env(e)
    except UserError as exc:
        events(Note(f"no cost estimate for {e.name}: {exc}", level="warn"))
        return None


def _range(x: Estimate | None) -> tuple[float, float] | None:
    return None if x is None else (x.min_usd, x.max_usd)


def _base_label(base: object) -> str | None:
    if base is None:
        return None
    if isinstance(base, LoadedBlueprint):
        return str(base.path)
    return str(base)


def load_base(base: str | Path | LoadedBlueprint, proposed: Path) -> LoadedBlueprint:
    """The blueprint before the change: a loaded one, a file, or a git ref holding the proposed file's
    path. It is untrusted input like any blueprint: its errors name `REF:path:line` (exit 2)."""
    if isinstance(base, LoadedBlueprint):
        return base
    if os.path.lexists(base) and not Path(base).is_dir():  # a file, or what `load` refuses (a pipe, /dev/zero)
        return load(base)
    ref = str(base)
    if ref.startswith("-") or not ref.strip():
        raise BadBase(f"--base {ref!r} is neither a file nor a git ref")
    folder = Path(proposed).resolve().parent
    try:
        top = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise BadBase(
            f"--base {ref!r} is not a file, and {proposed} is not inside a git repository to read it from",
            hint="pass the base blueprint as a file, or run inside the repository",
        ) from None
    rel = Path(proposed).resolve().relative_to(Path(top).resolve()).as_posix()
    shown = subprocess.run(["git", "-C", top, "show", f"{ref}:{rel}"], capture_output=True, text=True)
    if shown.returncode != 0:
        raise BadBase(
            f"--base {ref!r} is not a file, and git cannot show {ref}:{rel}: {shown.stderr.strip()[:300]}",
            hint="a new blueprint has no base: review it without --base",
        )
    return loads(shown.stdout, f"{ref}:{rel}")


def _plan_file(plan_dir: str | Path, stack: str, env: str) -> Path | None:
    for name in (f"{stack}.json", f"{env}.json"):
        p = Path(plan_dir) / name
        if os.path.lexists(p):  # whatever it is: `_read_plan` refuses what is not a regular file
            return p
    return None


def read_plans(plan_dir: str | Path, loaded: LoadedBlueprint, envs: list[str]) -> dict[str, dict]:
    """stack -> the `terraform show -json` plan in `plan_dir`: `<stack>.json` or `<env>.json` for each
    environment (required), and `<stack>-cluster.json` or `<env>-cluster.json` for its cluster stack
    (optional: without it the review says the cluster stack was not planned)."""
    if not Path(plan_dir).is_dir():
        raise PlanDirError(f"--plan-dir {plan_dir} is not a directory")
    out = {}
    for env in envs:
        stack = f"{loaded.name}-{env}"
        path = _plan_file(plan_dir, stack, env)
        if path is None:
            raise PlanDirError(
                f"--plan-dir {plan_dir} has no plan for {env}: expected {stack}.json or {env}.json",
                hint="write it with `terraform show -json tfplan > <stack>.json` in the stack folder",
            )
        out[stack] = _read_plan(path)
        cluster = _plan_file(plan_dir, f"{stack}-cluster", f"{env}-cluster")
        if cluster is not None:
            out[f"{stack}-cluster"] = _read_plan(cluster)
    return out


def _read_plan(path: Path) -> dict:
    try:
        data = json.loads(read_untrusted(path, MAX_PLAN_BYTES, "the plan").decode("utf-8"))
    except UnreadableFile as exc:  # not a regular file (a pipe, /dev/zero, a directory), too big, unreadable
        raise NotAPlan(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise NotAPlan(f"{path} cannot be read: {exc}") from None
    except ValueError as exc:
        raise NotAPlan(f"{path}: not JSON: {exc}") from None
    return validate_plan(data, str(path))


# --- the blueprint diff ----------------------------------------------------------------------------


def _env_view(bp: Blueprint, env: str) -> dict[str, Any]:
    """What an environment gets: the resolved blueprint, and its own settings (its overrides are
    already applied, and the other environments' settings are not its business)."""
    doc = bp.model_dump(mode="json")
    envs = doc.pop("environments", {})
    mine = dict(envs.get(env, {}))
    mine.pop("overrides", None)
    doc["environments"] = {env: mine}
    return doc


def _diff_docs(before: dict, after: dict, scope: str) -> list[DiffLine]:
    out: list[DiffLine] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in list(a) + [k for k in b if k not in a]:
                p = f"{path}.{k}" if path else str(k)
                if k not in b:
                    out.append(DiffLine(scope, p, "removed", before=a[k]))
                elif k not in a:
                    out.append(DiffLine(scope, p, "added", after=b[k]))
                else:
                    walk(a[k], b[k], p)
        elif a is None and b is not None:
            out.append(DiffLine(scope, path, "added", after=b))
        elif b is None and a is not None:
            out.append(DiffLine(scope, path, "removed", before=a))
        else:
            out.append(DiffLine(scope, path, "changed", before=a, after=b))

    walk(before, after, "")
    return out


def blueprint_diff(base: LoadedBlueprint | None, proposed: LoadedBlueprint, envs: list[str]) -> list[DiffLine]:
    """The differences per environment, overrides resolved; a difference that holds in every
    environment is said once, as `all:`. A new or removed environment is one line."""
    if base is None:
        return []
    per_env: dict[str, list[DiffLine]] = {}
    for name in envs:
        after = proposed.envs[name].blueprint
        before = base.envs.get(name)
        if before is None:
            per_env[name] = [DiffLine(name, f"environments.{name}", "added")]
            continue
        per_env[name] = _diff_docs(_env_view(before.blueprint, name), _env_view(after, name), name)
    removed_envs = [n for n in base.envs if n not in proposed.envs]

    def key(d: DiffLine) -> tuple:
        # the environment's own settings path names the environment: compare it generically
        return (d.path.replace(f"environments.{d.scope}", "environments.<env>"), d.kind, repr(d.before), repr(d.after))

    common = set.intersection(*(set(map(key, lines)) for lines in per_env.values())) if len(per_env) > 1 else set()
    out: list[DiffLine] = []
    first = next(iter(per_env.values()), [])
    for d in first:
        if key(d) in common and "environments." not in d.path:
            out.append(DiffLine("all", d.path, d.kind, d.before, d.after))
    shown_all = {key(d) for d in out}
    for lines in per_env.values():
        out += [d for d in lines if key(d) not in shown_all]
    out += [DiffLine(n, f"environments.{n}", "removed") for n in removed_envs]
    return out


def _value(v: Any) -> str:
    """A value as the blueprint writes it: `raw`, `3`, `true`, `[raw, features]` (JSON for the rest)."""
    if isinstance(v, str):
        return v
    if isinstance(v, list) and all(isinstance(x, str) and re.fullmatch(r"[\w.@-]+", x) for x in v):
        return "[" + ", ".join(v) + "]"
    return json.dumps(v, separators=(", ", ": "))


# --- Terraform addresses -> blueprint components ---------------------------------------------------


def known_names(*bps: Blueprint | None) -> dict[str, list[str]]:
    """component -> the logical names a resource of it may carry (both sides of the change), longest first."""
    names: dict[str, set[str]] = {c: set() for c in COMPONENTS}
    for bp in bps:
        if bp is None:
            continue
        c = bp.components
        if c.data_lake:
            names["data_lake"].update(c.data_lake.zones)
        if c.catalog:
            names["catalog"].update(c.catalog.databases)
        if c.training:
            names["training"].update(c.training.pools)
            names["monitoring"].update(c.training.pools)
        if c.registry:
            names["registry"].update(c.registry.models)
        if c.serving:
            names["serving"].update(c.serving.endpoints)
            names["monitoring"].update(c.serving.endpoints)
        names["baseline"].update(type(bp.access).model_fields)
    return {k: sorted(v, key=lambda n: (-len(n), n)) for k, v in names.items()}


def component_of(name: str, known: dict[str, list[str]]) -> str:
    """The blueprint component of a synthesized resource, from its construct-path-derived name
    (`data_lake_raw_bucket_FA2E08A8` -> `data_lake.raw`, `training_pool-gpu-b_4D5C5798` ->
    `training.gpu-b`, `serving_fraud-api-scaling_1C69C380` -> `serving.fraud-api`) or from a construct
    path (`starter-dev/data_lake/raw/bucket`). A resource of no known component keeps its name."""
    if "/" in name:  # a construct path: drop the stack, join the rest as the name would be
        parts = name.split("/")[1:]
        name = "_".join(parts)
    name = _HASH.sub("", name)
    for alias, component in ALIASES.items():
        if name.startswith(alias + "_"):
            name = component + name[len(alias) :]
    for component in sorted(COMPONENTS, key=len, reverse=True):
        if name == component or name.startswith(component + "_"):
            rest = name[len(component) + 1 :]
            for logical in known.get(component, []):
                if re.search(rf"(?:^|[-_]){re.escape(logical)}(?:$|[-_])", rest):
                    return f"{component}.{logical}"
            return component
    return name


def _component_rank(component: str) -> int:
    head = component.split(".")[0]
    order = ("data_lake", "catalog", "training", "registry", "serving", "monitoring", "baseline")
    return order.index(head) if head in order else len(order)


def _name(rc: dict) -> str:
    if rc.get("name"):
        return str(rc["name"])
    return re.sub(r"\[.*?\]", "", rc.get("address", "")).split(".")[-1]


def action_of(actions: list[str]) -> str | None:
    if actions == ["create"]:
        return "add"
    if actions == ["update"]:
        return "change"
    if "delete" in actions and "create" in actions:
        return "replace"
    if actions == ["delete"]:
        return "destroy"
    return None  # no-op, read


def changes_of(plan: dict, known: dict[str, list[str]]) -> list[Change]:
    out = []
    for rc in plan.get("resource_changes", []):
        if rc.get("mode") == "data":
            continue
        action = action_of(rc.get("change", {}).get("actions", []))
        if action:
            out.append(Change(rc["address"], rc.get("type", ""), action, component_of(_name(rc), known)))
    return out


def risky_of(plan: dict, known: dict[str, list[str]], allow: tuple[str, ...], report: Any) -> list[Risky]:
    """Every destroy or replace of a stateful resource (the clouds' `stateful_types`), with what the
    data-loss guard (MLOPS_CHG_001) decided: blocked, allowed by --allow-destroy, or waived."""
    stateful = registry.stateful_types()
    guard = {f.address: f for f in getattr(report, "findings", []) if f.rule == GUARD}
    out = []
    for rc in plan.get("resource_changes", []):
        kind = stateful.get(rc.get("type"))
        actions = rc.get("change", {}).get("actions", [])
        if kind is None or rc.get("mode") == "data" or "delete" not in actions:
            continue
        action = "replace" if "create" in actions else "destroy"
        component = component_of(_name(rc), known)
        hit = allowance_for(rc, allow)
        finding = guard.get(rc["address"])
        if hit:
            status, detail = "allowed", f"allowed by --allow-destroy {hit}"
        elif finding is not None and finding.waived_by:
            status, detail = "waived", f"waived: {finding.waived_by}"
        else:
            status = "blocked"
            detail = f"blocked by the data-loss guard ({GUARD}); if intended: --allow-destroy {subject_of(rc)}"
        out.append(Risky(rc["address"], component, action, kind, status, detail))
    return out


def gate_of(report: Any, today: dt.date) -> Gate:
    soon = today + dt.timedelta(days=EXPIRY_WINDOW_DAYS)
    failures = [
        {"rule": f.rule, "severity": f.severity, "subject": f.subject, "address": f.address, "message": f.message}
        for f in report.failures()
    ]
    used = [
        {"check": w.check, "resource": w.resource, "owner": w.owner, "reason": w.reason, "expires": str(w.expires)}
        for w in report.waivers_used
    ]
    return Gate(
        passed=report.ok(),
        failures=failures,
        problems=list(report.waiver_problems),
        waivers_used=used,
        waivers_expiring=[u for u in used if dt.date.fromisoformat(u["expires"]) <= soon],
        allowances=list(report.allowances),
    )


def changed_components(
    diff: list[DiffLine], env: str, changes: list[Change], now: Blueprint
) -> tuple[set[str], set[str]]:
    """(changed, removed) diagram keys of one environment, from its plan and its blueprint diff. A key
    the proposed blueprint no longer has (a removed lake zone, pool or endpoint) is `removed`."""
    present = known_names(now)
    changed: set[str] = set()
    removed: set[str] = set()

    def add(key: str, gone: bool = False) -> None:
        comp, _, name = key.partition(".")
        (removed if gone or (name and name not in present.get(comp, [])) else changed).add(key)

    for c in changes:
        add(c.component)
    for d in diff:
        parts = d.path.split(".")
        if d.scope not in ("all", env) or parts[0] != "components" or len(parts) < 2:
            continue
        comp = parts[1]
        if len(parts) >= 4 and parts[2] in ("pools", "endpoints", "databases"):
            add(f"{comp}.{parts[3]}", gone=d.kind == "removed" and len(parts) == 4)
        elif len(parts) == 3 and parts[2] in ("zones", "models") and d.kind == "changed":
            was, new = set(d.before or []), set(d.after or [])
            for n in was ^ new:
                add(f"{comp}.{n}")
        else:
            add(comp)
    return changed - removed, removed


# --- rendering -------------------------------------------------------------------------------------


def md(text: object) -> str:
    """User text in markdown (a table cell or a list item): literal, on one line, no HTML, no mention,
    no control or bidi character (`blueprints.text.md_text`)."""
    return md_text(text)


def code(text: object) -> str:
    """User text as an inline code span that survives a table (`blueprints.text.md_code`)."""
    return md_code(text, cell=True)


def _block(lines: list[str], lang: str = "") -> str:
    return md_block(lines, lang)


def _money(r: tuple[float, float] | None) -> str:
    return "n/a" if r is None else f"{usd(r[0])}–{usd(r[1])}"


def _delta(a: tuple[float, float] | None, b: tuple[float, float] | None) -> str:
    if a is None or b is None:
        return "n/a"
    return f"{b[0] - a[0]:+,.0f} / {b[1] - a[1]:+,.0f}"


ICON = {True: "✅", False: "❌"}


def _env_summary_row(e: EnvReview) -> str:
    c = e.counts
    plan = "plan failed" if e.error else ", ".join(f"{c[a]} {a}" for a in ACTIONS)
    blocked = sum(r.status == "blocked" for r in e.risky)
    risky = f"{len(e.risky)} ({blocked} blocked)" if e.risky else "none"
    gate = "passed" if e.gate.passed else f"failed ({len(e.gate.failures) + len(e.gate.problems)})"
    return (
        f"| {ICON[e.may_merge]} {md(e.env)} | {plan} | {risky} | {gate} | "
        f"{_money(e.cost_before)} → {_money(e.cost_after)} |"
    )


def _env_section(e: EnvReview, details_limit: int | None, with_diagram: bool, groups_limit: int | None) -> list[str]:
    out = [f"### {ICON[e.may_merge]} {md(e.env)} ({md(e.stack)})", ""]
    if e.error:
        out += ["**The plan failed**; the rest of this section is what could be checked without it:", ""]
        out += [_block(e.error.splitlines()[:30]), ""]
    out += [f"_{md(n)}._" for n in e.notes] + ([""] if e.notes else [])
    out += ["#### Risky changes", ""]
    if e.risky:
        out += ["| | action | resource | component | what | data-loss guard |", "|---|---|---|---|---|---|"]
        for r in e.risky:
            mark = {"blocked": "⛔", "allowed": "⚠️", "waived": "⚠️"}[r.status]
            out.append(
                f"| {mark} | **{r.action}** | {code(r.address)} | {md(r.component)} | {md(r.kind)} | {md(r.detail)} |"
            )
    else:
        out.append("No stateful resource is destroyed or replaced.")
    out += ["", "#### Changes by component", ""]
    groups = e.groups()
    if groups:
        out += ["| component | add | change | replace | destroy |", "|---|---:|---:|---:|---:|"]
        items = list(groups.items())
        shown = items if groups_limit is None else items[:groups_limit]
        for comp, n in shown:
            out.append(f"| {md(comp)} | " + " | ".join(str(n[a]) for a in ACTIONS) + " |")
        out.append("| **total** | " + " | ".join(f"**{e.counts[a]}**" for a in ACTIONS) + " |")
        if len(shown) < len(items):
            out.append(f"\n_{len(items) - len(shown)} more components are in the JSON output (`--format json`)._")
    else:
        out.append("No changes." if not e.error else "No plan.")
    g = e.gate
    out += ["", "#### Policy gate", ""]
    out.append(
        f"{ICON[g.passed]} **{'passed' if g.passed else 'failed'}**: {len(g.failures)} failure(s), "
        f"{len(g.problems)} waiver problem(s)"
    )
    if g.failures:
        out += ["", "| severity | rule | component | message |", "|---|---|---|---|"]
        out += [
            f"| {md(f['severity'])} | {md(f['rule'])} | {md(f['subject'])} | {md(f['message'])} |" for f in g.failures
        ]
    for p in g.problems:
        out.append(f"- waiver problem: {md(p)}")
    out += [""]
    used = [
        f"{md(w['check'])} on {md(w['resource'])} until {md(w['expires'])} ({md(w['owner'])})" for w in g.waivers_used
    ]
    out.append("- Waivers used: " + ("; ".join(used) if used else "none"))
    soon = [f"{md(w['check'])} on {md(w['resource'])} expires {md(w['expires'])}" for w in g.waivers_expiring]
    out.append(f"- Waivers expiring within {EXPIRY_WINDOW_DAYS} days: " + ("; ".join(soon) if soon else "none"))
    if g.allowances:
        out.append("- Allowed destroys: " + "; ".join(md(a) for a in g.allowances))
    out += ["", "#### Monthly cost (USD, minimum–maximum scale)", ""]
    out += ["| before | after | delta (min / max) |", "|---:|---:|---:|"]
    out.append(f"| {_money(e.cost_before)} | {_money(e.cost_after)} | {_delta(e.cost_before, e.cost_after)} |")
    out += ["", "#### Diagram", ""]
    if with_diagram:
        changed = ", ".join(md(h) for h in e.highlighted) or "none"
        out += [f"Changed components are highlighted: {changed}.", "", diagram.fenced(e.diagram)]
    else:
        out.append("_The diagram is left out to fit the comment; `mlops-blueprint diagram` draws it._")
    out += [
        "",
        f"<details><summary>Plan per address ({len(e.changes)} changes, from {md(e.plan_source)})</summary>",
        "",
    ]
    if e.changes:
        shown_changes = e.changes if details_limit is None else e.changes[:details_limit]
        if shown_changes:
            out += ["| action | address | component |", "|---|---|---|"]
            out += [f"| {c.action} | {code(c.address)} | {md(c.component)} |" for c in shown_changes]
        if len(shown_changes) < len(e.changes):
            out += [
                "",
                f"_Truncated to fit a GitHub comment: {len(e.changes) - len(shown_changes)} more addresses are in "
                "the JSON output (`--format json`)._",
            ]
    else:
        out.append("No resource changes.")
    out += ["", "</details>", ""]
    return out


def _render(
    r: Review, details_limit: int | None, with_diagram: bool, groups_limit: int | None, diff_limit: int | None
) -> str:
    out = [f"## Blueprint review: {md(r.blueprint)}", ""]
    out += [f"**{ICON[r.may_merge]} {md(r.verdict)}**", ""]
    out += ["| environment | plan | risky changes | policy gate | monthly cost (USD) before → after |"]
    out += ["|---|---|---|---|---|"]
    out += [_env_summary_row(e) for e in r.envs]
    out += ["", "### Blueprint diff", ""]
    if r.base is None:
        out.append("_No base blueprint given (`--base FILE|GIT-REF`): no diff._")
    elif not r.diff:
        out.append(f"No difference from {code(r.base)}.")
    else:
        out.append(f"Against {code(r.base)}, overrides resolved per environment:")
        out.append("")
        lines = [d.text for d in r.diff]
        shown = lines if diff_limit is None else lines[:diff_limit]
        out.append(_block(shown))
        if len(shown) < len(lines):
            out.append(f"_{len(lines) - len(shown)} more lines are in the JSON output (`--format json`)._")
    out.append("")
    for e in r.envs:
        out += _env_section(e, details_limit, with_diagram, groups_limit)
    return "\n".join(out).rstrip() + "\n"


def to_markdown(r: Review, limit: int = GITHUB_LIMIT - MARKER_ROOM) -> str:
    """The comment (GitHub's limit, less room for a CI template's marker line). When it is longer than
    `limit` characters: the per-address details shrink first
    (a note says how many are left out), then the diagrams go, then the long tables; the verdict and
    the risky changes always stay."""
    text = _render(r, None, True, None, None)
    if len(text) <= limit:
        return text
    most = max((len(e.changes) for e in r.envs), default=0)
    lo, hi = 0, most  # the largest per-environment details limit that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_render(r, mid, True, None, None)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    text = _render(r, lo, True, None, None)
    if len(text) <= limit:
        return text
    for groups_limit, diff_limit in ((None, None), (50, 200), (20, 50), (5, 10), (0, 0)):
        text = _render(r, 0, False, groups_limit, diff_limit)
        if len(text) <= limit:
            return text
    return text  # only the verdict, the summary and the risky changes are left: never cut


def _usd_range(r: tuple[float, float] | None) -> dict[str, float] | None:
    return None if r is None else {"min_usd": r[0], "max_usd": r[1]}


def as_dict(r: Review) -> dict[str, Any]:
    return {
        "blueprint": r.blueprint,
        "path": r.path,
        "base": r.base,
        "may_merge": r.may_merge,
        "exit_code": r.exit_code,
        "verdict": r.verdict,
        "diff": [{**asdict(d), "text": d.text} for d in r.diff],
        "environments": [
            {
                "env": e.env,
                "stack": e.stack,
                "plan_source": e.plan_source,
                "plan_error": e.error,
                "notes": e.notes,
                "may_merge": e.may_merge,
                "reasons": e.reasons,
                "counts": e.counts,
                "risky": [asdict(x) for x in e.risky],
                "components": e.groups(),
                "gate": asdict(e.gate),
                "cost": {
                    "before": _usd_range(e.cost_before),
                    "after": _usd_range(e.cost_after),
                },
                "diagram": e.diagram,
                "highlighted": e.highlighted,
                "changes": [asdict(c) for c in e.changes],
            }
            for e in r.envs
        ],
    }


def to_json(r: Review) -> str:
    """The review as data: the values exactly, every character outside ASCII written as a JSON escape
    (a bidi control or a lone surrogate in a blueprint value reaches no terminal or log raw)."""
    return json.dumps(as_dict(r), indent=2, default=str) + "\n"
