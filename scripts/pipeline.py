"""The pipeline library: validate, synth, check, plan, up, down, verify, rollout.

Each step is a function that reports progress as events (`scripts/events.py`) to a callback and
raises a `UserError` (with its exit code) when the user must act. The CLI only parses arguments
and renders the events; a CI job or a user's own script calls the same functions:

    from mlops_blueprint import pipeline
    loaded = pipeline.validate("blueprints/reference/starter.yaml")
    pipeline.up(loaded, env="dev", local=True, events=print)

Everything cloud-specific is reached through the registry (`registry.get(target.cloud)`): the
stack class, the glue (state bootstrap, verify, rollout, credential errors) and the emulator.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.errors import (
    EXIT_DEPLOY,
    EXIT_POLICY,
    EXIT_VERIFY,
    TargetNotAvailable,
    ToolMissing,
    UserError,
)
from mlops_blueprint.blueprints.files import MAX_PLAN_BYTES, UnreadableFile, read_untrusted
from mlops_blueprint.blueprints.loader import LoadedBlueprint, ResolvedEnv, load
from mlops_blueprint.scripts.events import (
    Applied,
    Destroyed,
    EmulatorReady,
    Event,
    GateChecked,
    Note,
    Planned,
    RolledOut,
    StepFinished,
    StepLine,
    StepStarted,
    Synthesized,
    Verified,
)
from mlops_blueprint.scripts.glue import Capability, Check, Glue, RolloutResult, Target

T = TypeVar("T")

Events = Callable[[Event], None]
OUTDIR = Path("cdktf.out")  # where `synth` writes by default, as `cdktn synth` does (cdktf.json)
SEVERITIES = ("critical", "high", "medium", "low")


def _quiet(event: Event) -> None:
    """The default sink: a library caller that passes no callback hears nothing."""


class PolicyRefused(UserError):
    """The policy gate failed: nothing was planned, applied or destroyed past that point (exit 6)."""

    exit_code = EXIT_POLICY


class VerifyFailed(UserError):
    """What was deployed does not match the blueprint (exit 5)."""

    exit_code = EXIT_VERIFY


class BadOption(UserError):
    """An option's value is not allowed (exit 2)."""


# --- steps without the cloud -------------------------------------------------------------------


def validate(source: str | Path | LoadedBlueprint, env: str | None = None) -> LoadedBlueprint:
    """Load and validate a blueprint (every environment's overlay); `env`, when given, must exist."""
    loaded = source if isinstance(source, LoadedBlueprint) else load(source)
    loaded.select(env)
    return loaded


def write_schema(output: Path) -> Path:
    """Write the blueprint JSON Schema (atomically: a reader never sees half a file)."""
    from mlops_blueprint.blueprints.model import json_schema

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".tmp")
    tmp.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    tmp.replace(output)
    return output


def work_dir(loaded: LoadedBlueprint) -> Path:
    """Where a command that synthesizes on its way (check, plan, up, down, review, drift, outputs) writes
    its stacks and runs terraform when no --output is given: `$MLOPS_HOME/out/<blueprint>`, beside the
    cache and the emulator, never the current directory. `synth` writes where it is asked (cdktf.out)."""
    from mlops_blueprint.stacks.cache import root

    return root().parent / "out" / loaded.name


def synth(
    loaded: LoadedBlueprint,
    env: str | None = None,
    outdir: Path | None = None,
    local: bool = False,
    events: Events = _quiet,
) -> list[Any]:
    """One stack per environment into `outdir/stacks/<blueprint>-<env>/cdk.tf.json`, all or nothing."""
    from mlops_blueprint.stacks import synth as do_synth
    from mlops_blueprint.stacks.settings import DeploySettings

    envs = loaded.select(env)
    for w in loaded.warnings:
        events(Note(f"warning {w}", level="warn"))
    outdir = Path(outdir) if outdir is not None else work_dir(loaded)
    with _step(events, loaded.name, "synth", long=True):
        results = do_synth(loaded, envs, outdir, DeploySettings.for_local(local))
    for r in results:
        doc = json.loads(r.json_path.read_text())
        events(Synthesized(r.stack, r.json_path, sum(len(v) for v in doc.get("resource", {}).values())))
    return results


@dataclass
class CheckOutcome:
    reports: dict[str, Any]  # env -> policies.engine.Report
    ok: bool
    rendered: str | None = None  # the --format report, when one was asked for

    def raise_if_failed(self) -> None:
        if not self.ok:
            failed = [e for e, r in self.reports.items() if not r.ok(self._min)]
            raise PolicyRefused(f"the policy gate failed for {', '.join(failed)}")

    _min: str = "low"


def check(
    loaded: LoadedBlueprint,
    env: str | None = None,
    outdir: Path | None = None,
    plan: Path | dict | None = None,
    allow_destroy: tuple[str, ...] = (),
    min_severity: str = "low",
    report_format: str | None = None,
    events: Events = _quiet,
) -> CheckOutcome:
    """The policy gate on every environment: blueprint rules, resource rules (own pack + checkov),
    and change rules on a plan (`terraform show -json`, for one environment)."""
    from mlops_blueprint.policies.change import NotAPlan, validate_plan
    from mlops_blueprint.policies.gate import environment
    from mlops_blueprint.policies.report import FORMATS, RENDER

    if report_format and report_format not in FORMATS:
        raise BadOption(f"--format must be one of {', '.join(FORMATS)}")
    if min_severity not in SEVERITIES:
        raise BadOption(f"--min-severity must be one of {', '.join(SEVERITIES)}")
    plan_doc = None
    if plan is not None:
        if env is None:
            raise BadOption("a plan belongs to one environment: add --env")
        if isinstance(plan, dict):
            plan_doc = validate_plan(plan, "the plan")
        else:
            try:
                data = json.loads(read_untrusted(plan, MAX_PLAN_BYTES, "the plan").decode("utf-8"))
            except UnreadableFile as exc:  # not a regular file (a pipe, /dev/zero, a directory), too big
                raise NotAPlan(str(exc)) from None
            except ValueError as exc:
                raise NotAPlan(f"{plan} cannot be read as JSON: {exc}") from None
            plan_doc = validate_plan(data, str(plan))
    results = synth(loaded, env, outdir, events=events)
    reports, ok = {}, True
    for e, r in zip(loaded.select(env), results, strict=True):
        kw: dict[str, Any] = {"plan": plan_doc, "allow": allow_destroy}
        stacks = [(r.stack, r.json_path, kw)]
        if r.cluster is not None:  # the in-cluster stack is gated too, and reported with its environment
            stacks.append((r.cluster.stack, r.cluster.json_path, {}))
        gated = [
            (s, _gate(e, s, events, json_path=j, min_severity=min_severity, emit=False, **k)[1]) for s, j, k in stacks
        ]
        reports[e.name], views = environment(gated)  # each finding and waiver line once per environment
        for s, view in views:
            events(GateChecked(s, view, view.ok(min_severity), min_severity, "gate"))
        ok &= reports[e.name].ok(min_severity)
    rendered = RENDER[report_format](reports, min_severity, loaded) if report_format else None
    return CheckOutcome(reports, ok, rendered, min_severity)


# --- steps on the cloud ------------------------------------------------------------------------


def plan(
    loaded: LoadedBlueprint,
    env: str | None = None,
    *,
    local: bool = False,
    mirror: str | None = None,
    outdir: Path | None = None,
    allow_destroy: tuple[str, ...] = (),
    events: Events = _quiet,
) -> dict[str, Any]:
    """Plan every environment at once (`plan_each`) and gate each stack with its plan (the data-loss
    guard among the rules). Returns env -> PlanSummary. A stack that fails its resource rules is planned
    too (a plan changes nothing) and then refused. The cluster stacks are not planned: before the
    first `up` their cluster does not exist yet. A failed plan is raised once every plan has ended,
    with a note naming the other environments that failed.
    """
    from mlops_blueprint.scripts.terraform import PlanSummary

    planned = plan_each(
        loaded,
        env,
        local=local,
        mirror=mirror,
        outdir=outdir,
        allow_destroy=allow_destroy,
        clusters=False,
        events=events,
    )
    failed = [p for p in planned.values() if p.error is not None]
    refused = [p.stack for p in planned.values() if not p.passed and p.error is None]
    if failed:
        others = [f"{p.stack}: plan failed" for p in failed[1:]] + [f"{s}: the policy gate failed" for s in refused]
        if others:
            events(Note("also " + "; ".join(others) + " (see above)", level="warn"))
        assert failed[0].error is not None
        raise failed[0].error
    if refused:
        raise PolicyRefused(
            f"the policy gate failed for {', '.join(refused)}",
            hint="fix the resource or the blueprint, waive the finding in policies.waivers, or pass "
            "--allow-destroy for an intended data loss",
        )
    return {name: PlanSummary.from_plan_json(p.plan or {}) for name, p in planned.items()}


def up(
    loaded: LoadedBlueprint,
    env: str | None = None,
    *,
    local: bool = False,
    mirror: str | None = None,
    port: int | None = None,
    outdir: Path | None = None,
    allow_destroy: tuple[str, ...] = (),
    verify: bool = True,
    events: Events = _quiet,
) -> None:
    """Deploy: synth, the fast gate layers, state bootstrap and terraform init/plan with checkov beside
    them, the whole gate on the plan, apply (skipped when nothing changes), then verify. An environment's
    cluster stack follows its cloud stack; on the emulator it is validated and gated, not applied."""
    cloud = registry.get(loaded.base.target.cloud)
    target = _target(loaded, local, mirror, events, port=port)
    if local:
        events(
            Note(
                f"emulator shims in use: {', '.join(cloud.load('emulator').gaps())} "
                "(see docs/proof.md: what the emulator does not cover)",
                level="dim",
            )
        )
    results = synth(loaded, env, outdir, local, events)
    failed_verify = []
    for e, r in zip(loaded.select(env), results, strict=True):
        # The cloud stack first (it makes the cluster), then the cluster stack (it needs the cluster's API).
        # A waiver "matched nothing" only if no stack of the environment used it: with a cluster stack, the
        # cloud stack's gate holds that line back, and the cluster stack's gate says it for both.
        held = r.cluster is not None
        first = _apply_stack(cloud, e, r, target, allow_destroy, events, untracked=True, hold_warnings=held)
        if r.cluster is not None and local:
            _check_cluster_stack(e, r.cluster, events, earlier=first)
        elif r.cluster is not None:
            _apply_cluster_stack(cloud, e, r.cluster, target, allow_destroy, events, earlier=first)
        if verify and not _verify_env(cloud, e, r.stack, target, events):
            failed_verify.append(r.stack)
    if failed_verify:
        raise VerifyFailed(f"verification failed for {', '.join(failed_verify)} (see the table above)")


def down(
    loaded: LoadedBlueprint,
    env: str | None = None,
    *,
    local: bool = False,
    mirror: str | None = None,
    outdir: Path | None = None,
    keep_state: bool = False,
    events: Events = _quiet,
) -> None:
    """Destroy each environment. Environments that protect their stateful resources refuse, by design."""
    envs = loaded.select(env)
    protected = [e.name for e in envs if e.settings.protect_stateful]
    if protected:
        raise UserError(
            f"environment(s) {', '.join(protected)} protect their stateful resources (protect_stateful: "
            "true). Set protect_stateful: false for that environment, deploy it, then run down."
        )
    cloud = registry.get(loaded.base.target.cloud)
    target = _target(loaded, local, mirror, events)
    results = synth(loaded, env, outdir, local, events)
    glue: Glue = cloud.load("glue")
    for e, r in zip(envs, results, strict=True):
        # The cluster stack first: its objects live in the cluster the cloud stack is about to remove.
        if r.cluster is not None and local:
            note = f"{r.cluster.stack}: nothing to destroy (never applied on the emulator)"
            events(Note(note, stack=r.cluster.stack))
        elif r.cluster is not None:
            tf, summary = _plan_env(cloud, r.cluster, e, target, events, destroy=True)
            if not summary.empty:
                with _step(events, r.cluster.stack, "terraform apply (destroy)", long=True):
                    tf.apply()
            events(Destroyed(r.cluster.stack))
        # What rollouts created, Terraform does not know: model versions go before the destroy (a
        # registry group that holds versions cannot be deleted), rollout models and endpoint
        # configurations once their endpoint no longer uses them (the rest after the destroy).
        _cleanup_rollouts(glue, e, r.stack, target, events)
        tf, summary = _plan_env(cloud, r, e, target, events, destroy=True)
        if not summary.empty:
            with _step(events, r.stack, "terraform apply (destroy)", long=True):
                tf.apply()
        _cleanup_rollouts(glue, e, r.stack, target, events)
        _untracked(cloud, e, r, None, target, events)  # destroyed: nothing is recorded any more
        if local and not keep_state:
            glue.delete_state(e, target, _reporter(events, r.stack))
        events(Destroyed(r.stack))


def verify(
    loaded: LoadedBlueprint, env: str | None = None, *, local: bool = False, events: Events = _quiet
) -> dict[str, list[Check]]:
    """Read back through the cloud's SDK what the blueprint promises. Raises VerifyFailed on a mismatch."""
    cloud = registry.get(loaded.base.target.cloud)
    target = _target(loaded, local, None, events, start=False, need_terraform=False)
    out, bad = {}, []
    for e in loaded.select(env):
        stack = f"{loaded.name}-{e.name}"
        out[e.name] = checks = _checks(cloud, e, target)
        events(Verified(stack, checks))
        if not all(c.ok for c in checks):
            bad.append(stack)
    if bad:
        raise VerifyFailed(f"verification failed for {', '.join(bad)}")
    return out


def rollout(
    loaded: LoadedBlueprint,
    env: str,
    endpoint: str,
    image_tag: str,
    *,
    traffic: int = 10,
    artifact: str | None = None,
    local: bool = False,
    events: Events = _quiet,
) -> RolloutResult:
    """Register a new model version and give it `traffic` percent of an endpoint's traffic (100 promotes)."""
    cloud = registry.get(loaded.base.target.cloud)
    e = loaded.select(env)[0]
    target = _target(loaded, local, None, events, start=False, need_terraform=False)
    glue: Glue = cloud.load("glue")
    with _credentials(glue):
        result = glue.rollout(e, endpoint, image_tag, traffic, target, artifact)
    events(RolledOut(result))
    return result


# --- helpers ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _step(events: Events, stack: str, step: str, long: bool = False) -> Iterator[None]:
    t0 = time.perf_counter()
    events(StepStarted(stack, step, long))
    try:
        yield
    finally:
        events(StepFinished(stack, step, time.perf_counter() - t0))


def _finished(events: Events, stack: str, step: str, t0: float) -> Callable[[Any], None]:
    return lambda _future: events(StepFinished(stack, step, time.perf_counter() - t0))


def _reporter(events: Events, stack: str) -> Callable[[str], None]:
    return lambda message: events(Note(message, stack=stack))


def _apply_stack(
    cloud: registry.Cloud,
    e: ResolvedEnv,
    r: Any,
    target: Target,
    allow_destroy: tuple[str, ...],
    events: Events,
    adopt: bool = True,
    untracked: bool = False,
    only: tuple[str, ...] = (),
    later: bool = False,
    hold_warnings: bool = False,
    earlier: Any = None,
) -> Any:
    """Gate, plan, gate the plan, apply (skipped when nothing changes) one stack of an environment; returns
    the gate's report. `later`/`earlier`: a later stack of the environment, and the earlier stack's report
    (see `_gate`); `hold_warnings`: the environment has a later stack, which reports unmatched waivers.
    `untracked`: before applying, handle the objects with the environment's tags that the state does
    not hold (the cloud stack: see `_untracked`). `only`: plan and apply just these addresses (and what
    they depend on), with `-target`."""
    from mlops_blueprint.policies.gate import checkov_for

    t0 = time.perf_counter()
    # Fast layers first: nothing is touched when they fail. checkov then runs beside terraform
    # init/plan (it only has to finish before apply), and all three layers gate the apply.
    fast = dict(later=later, hold_warnings=hold_warnings, earlier=earlier)
    if not _gate(e, r.stack, events, json_path=r.json_path, with_checkov=False, quiet_pass=True, **fast)[0]:
        raise PolicyRefused(f"refusing to deploy {r.stack}: the policy gate failed")
    with ThreadPoolExecutor(max_workers=1) as pool:
        events(StepStarted(r.stack, "checkov", long=True))
        checkov = pool.submit(checkov_for, e, r.json_path)
        checkov.add_done_callback(_finished(events, r.stack, "checkov", t0))
        tf, summary = _plan_env(cloud, r, e, target, events, only=only)
        plan_json = None if summary.empty else tf.plan_json
        passed, report = _gate(
            e,
            r.stack,
            events,
            json_path=r.json_path,
            plan=plan_json,
            allow=allow_destroy,
            checkov=checkov.result(),
            **fast,
        )
        if not passed:
            raise PolicyRefused(
                f"refusing to apply {r.stack}: the policy gate failed",
                hint="a planned data loss needs --allow-destroy",
            )
    if not summary.empty:
        from mlops_blueprint.scripts.terraform import TerraformFailed

        if untracked:
            _untracked(cloud, e, r, tf, target, events)
        try:
            with _step(events, r.stack, "terraform apply", long=True):
                tf.apply()
        except TerraformFailed as failure:
            if not failure.orphans or not adopt:
                raise
            _adopt(cloud, e, r, tf, failure, target, events)
            # the adopted objects are planned, gated (the data-loss guard included) and applied like any others
            return _apply_stack(cloud, e, r, target, allow_destroy, events, adopt=False, only=only, **fast)
    events(Applied(r.stack, time.perf_counter() - t0, changed=not summary.empty))
    return report


def _apply_cluster_stack(
    cloud: registry.Cloud,
    e: ResolvedEnv,
    r: Any,
    target: Target,
    allow_destroy: tuple[str, ...],
    events: Events,
    earlier: Any = None,
) -> None:
    """A cluster stack: the Helm releases new to the cluster first, on their own, when custom objects
    need their CRDs (`_releases_first`); then the whole stack."""
    first = _releases_first(cloud, e, r, target, events)
    if first:
        events(
            Note(
                f"{r.stack}: the Helm releases new to this cluster first ({', '.join(first)}): the custom "
                "objects that use their CRDs can only be planned once the CRDs exist",
                stack=r.stack,
            )
        )
        _apply_stack(cloud, e, r, target, allow_destroy, events, only=first, later=True, hold_warnings=True)
    _apply_stack(cloud, e, r, target, allow_destroy, events, later=True, earlier=earlier)


def _untracked(cloud: registry.Cloud, e: ResolvedEnv, r: Any, tf: Any, target: Target, events: Events) -> None:
    """Objects without a name of their own (a VPC, a KMS key) that a killed run created but never
    recorded carry the environment's tags; the next apply cannot adopt them by name, it would make
    them twice. Judged against the state as the backend holds it now (`tf`; None after a destroy). In
    the emulator they are removed (the glue reports each); on a cloud they are listed, never deleted."""
    glue: Glue = cloud.load("glue")
    if Capability.SWEEP_UNTRACKED not in glue.capabilities:
        return
    backend = json.loads(Path(r.json_path).read_text()).get("terraform", {}).get("backend")
    with _credentials(glue), _step(events, r.stack, "untracked objects"):
        state = tf.state_pull() if tf is not None else None
        found = glue.sweep_untracked(e, target, state, _reporter(events, r.stack), backend=backend)
    if not found or target.local:
        return
    listed = ", ".join(found)
    if tf is None:
        message = f"{len(found)} object(s) still carry this environment's tags after the destroy: {listed}"
    elif not (state or {}).get("resources"):
        message = (
            f"the state of {r.stack} holds nothing, yet {len(found)} object(s) carry this environment's tags: "
            f"{listed}. If the environment was deployed before, its state may be missing or elsewhere "
            "(was state.bucket changed?): find it before deleting anything; if only a first run was killed, "
            "they are its leftovers"
        )
    else:
        message = (
            f"{len(found)} object(s) carry this environment's tags but are not in its state: {listed}. "
            "A run killed mid-apply may have left them; delete them once you have checked they are leftovers"
        )
    events(Note(message, stack=r.stack, level="warn"))


class Orphaned(UserError):
    """Objects this stack would create already exist (exit 4)."""

    exit_code = EXIT_DEPLOY


def _adopt(
    cloud: registry.Cloud, e: ResolvedEnv, r: Any, tf: Any, failure: Any, target: Target, events: Events
) -> None:
    """After an apply that found objects it was creating already there. The usual cause is an earlier
    run killed mid-apply (SIGKILL, a lost machine): the cloud made the object, but terraform died before
    it could record it. In the embedded emulator, which nobody else uses, they are adopted (imported)
    and the apply goes on. On a cloud they may as well be someone else's objects with the same name, so
    nothing is adopted: the error lists them with the exact import command for each, to run after a look."""
    glue: Glue = cloud.load("glue")
    doc = json.loads(Path(r.json_path).read_text())
    ids: dict[str, str | None] = {}
    if Capability.IMPORT_IDS in glue.capabilities:
        with _credentials(glue):
            ids = glue.import_ids(doc, failure.orphans, e, target)
    missing = [a for a in failure.orphans if not ids.get(a)]
    if not target.local or missing:
        commands = [f"terraform -chdir={tf.dir} import '{a}' '{ids[a]}'" for a in failure.orphans if ids.get(a)]
        raise Orphaned(
            f"{r.stack}: {len(failure.orphans)} object(s) this stack creates already exist: "
            + ", ".join(failure.orphans)
            + (f" (no import id known for {', '.join(missing)})" if missing else ""),
            hint="an earlier run that was killed mid-apply may have created them. If they are this "
            "environment's, adopt them and run again:\n    " + "\n    ".join(commands or ["(import them by hand)"]),
        )
    for address in failure.orphans:
        with _step(events, r.stack, f"terraform import {address}"):
            tf.import_(address, ids[address])
        events(
            Note(
                f"adopted {address} ({ids[address]}): created by an earlier run that died before recording it",
                stack=r.stack,
            )
        )


def _check_cluster_stack(e: ResolvedEnv, r: Any, events: Events, earlier: Any = None) -> None:
    """On the emulator (no Kubernetes API server): the cluster stack's objects are validated against the
    Kubernetes and CRD schemas and the stack is gated; it is not applied, and one line says so."""
    from mlops_blueprint.modules.cluster import validate

    training = e.blueprint.components.training
    version = training.kubernetes_version if training else ""
    why_not = validate.available()
    checked = "schemas not checked: " + why_not if why_not else ""
    if not why_not:
        count, problems = validate.stack_errors(json.loads(r.json_path.read_text()), version)
        if problems:
            raise PolicyRefused(
                f"{r.stack}: {len(problems)} object(s) Kubernetes {version} would refuse:\n  " + "\n  ".join(problems)
            )
        checked = f"{count} objects valid for Kubernetes {version}"
    gated = _gate(
        e, r.stack, events, json_path=r.json_path, with_checkov=False, quiet_pass=True, later=True, earlier=earlier
    )
    if not gated[0]:
        raise PolicyRefused(f"refusing {r.stack}: the policy gate failed")
    events(
        Note(
            f"{r.stack}: synthesized, validated ({checked}) and gated; not applied: the emulator has no "
            "Kubernetes API server",
            stack=r.stack,
        )
    )


def _emulator_watch(cloud: registry.Cloud, target: Target) -> dict[str, Any]:
    """In local mode: terraform is stopped when the emulator goes away (the provider would retry for
    many minutes), and a failed run whose emulator is gone says that, not the provider's errors."""
    if not target.local:
        return {}
    emulator = cloud.load("emulator")

    def diagnose(failure: Any) -> UserError | None:
        if not emulator.gone():
            return None
        return emulator.EmulatorError(
            f"the emulator stopped answering during terraform {failure.command} of {failure.stack}, so that run "
            "did not finish (everything deployed into the emulator is lost with it)",
            hint="start it again with `mlops-blueprint emulator start` and run `up` again (a new emulator starts "
            "empty: `up` deploys everything anew)",
        )

    return {"diagnose": diagnose, "gone": emulator.gone}


def _cleanup_rollouts(glue: Glue, e: ResolvedEnv, stack: str, target: Target, events: Events) -> None:
    with _credentials(glue), _step(events, stack, "clean up rollouts"):
        glue.cleanup_rollouts(e, target, _reporter(events, stack))


@contextlib.contextmanager
def _credentials(glue: Glue) -> Iterator[None]:
    """The SDK's "no credentials" errors, as a plain message (exit 3)."""
    errors = glue.credential_errors()
    if not errors:
        yield
        return
    try:
        yield
    except errors as exc:
        raise ToolMissing(f"no cloud credentials: {str(exc).splitlines()[0]}", hint=glue.CREDENTIALS_HINT) from None


def _credentials_present(cloud: registry.Cloud) -> None:
    """Before anything calls the cloud: the credentials the environment presents, as the glue finds them
    without the network. Unset, empty (a fork's pull request) or pointing at nothing: the plain message
    (exit 3), not an SDK's traceback from deep inside a plan."""
    glue: Glue = cloud.load("glue")
    problem = glue.credentials_problem()
    if problem:
        raise ToolMissing(f"no cloud credentials: {problem}", hint=glue.CREDENTIALS_HINT)


def _target(
    loaded: LoadedBlueprint,
    local: bool,
    mirror: str | None,
    events: Events,
    *,
    port: int | None = None,
    start: bool = True,
    need_terraform: bool = True,
) -> Target:
    from mlops_blueprint.scripts.terraform import mirror_from_env, terraform_binary

    cloud = registry.get(loaded.base.target.cloud)
    if local and cloud.emulator is None:
        raise TargetNotAvailable(
            f"--local is the embedded emulator; there is no emulator for {cloud.name} ({cloud.no_emulator_hint})"
        )
    if need_terraform:
        terraform_binary()  # fail early and clearly
    m = mirror_from_env(mirror)
    if not local:
        _credentials_present(cloud)
        return Target(local=False, mirror=m)
    emulator = cloud.load("emulator")
    if start:
        emu, started = emulator.start(port)
    else:
        emu, started = emulator.status(), False
        if emu is None:
            raise emulator.EmulatorError("no emulator is running; deploy first with `up --local`")
    events(EmulatorReady(emu.endpoint, emu.pid, started))
    return Target(local=True, mirror=m, env=emulator.environment(emu, loaded.base.target.region), endpoint=emu.endpoint)


def _terraform(cloud: registry.Cloud, r: Any, e: ResolvedEnv, target: Target, events: Events) -> Any:
    """A stack's terraform, its state bucket made first when missing, initialized."""
    from mlops_blueprint.scripts.terraform import Terraform

    glue: Glue = cloud.load("glue")
    with _credentials(glue):
        glue.bootstrap_state(e, target, _reporter(events, r.stack))
    tf = Terraform(
        r.directory,
        stack=r.stack,
        env=dict(target.env),
        mirror=target.mirror,
        on_line=lambda line: events(StepLine(r.stack, line)),
        **_emulator_watch(cloud, target),
    )
    with _step(events, r.stack, "terraform init", long=True):
        tf.init()
    return tf


def _plan_env(
    cloud: registry.Cloud,
    r: Any,
    e: ResolvedEnv,
    target: Target,
    events: Events,
    destroy: bool = False,
    only: tuple[str, ...] = (),
) -> tuple[Any, Any]:
    tf = _terraform(cloud, r, e, target, events)
    step = "terraform plan" + (" -destroy" if destroy else "") + (f" -target ({len(only)})" if only else "")
    with _step(events, r.stack, step, long=True):
        summary = tf.plan(destroy=destroy, targets=only)
    events(Planned(r.stack, summary))
    return tf, summary


def _releases_first(cloud: registry.Cloud, e: ResolvedEnv, r: Any, target: Target, events: Events) -> tuple[str, ...]:
    """The Helm releases of a cluster stack that its state does not hold yet, when the stack also has
    custom objects (`kubernetes_manifest`): terraform plans such an object against the cluster's API,
    which knows its kind only once the release that brings the CRD is installed (Kueue's ClusterQueue,
    the GPU Operator's ClusterPolicy, ...). Those releases are applied on their own first. Empty: one
    apply does it (every release is installed already, or nothing needs a CRD)."""
    resources = json.loads(r.json_path.read_text()).get("resource", {})
    releases = [f"helm_release.{name}" for name in resources.get("helm_release", {})]
    if not releases or not resources.get("kubernetes_manifest"):
        return ()
    state = _terraform(cloud, r, e, target, events).state_pull() or {}
    held = {f"{x['type']}.{x['name']}" for x in state.get("resources", []) if x.get("mode") == "managed"}
    return tuple(a for a in releases if a not in held)


def _gate(
    e: ResolvedEnv,
    stack: str,
    events: Events,
    *,
    json_path: Path | None = None,
    plan: dict | None = None,
    allow: tuple[str, ...] = (),
    min_severity: str = "low",
    with_checkov: bool = True,
    checkov: list | None = None,
    quiet_pass: bool = False,
    emit: bool = True,
    later: bool = False,
    hold_warnings: bool = False,
    earlier: Any = None,
) -> tuple[bool, Any]:
    """Gate one stack and show it (`emit`). `later`: a later stack of its environment (the cluster stack
    `up` applies after the cloud stack): it shows its own findings, not the environment's again, and,
    given the `earlier` stack's report, the waivers that matched nothing in either. `hold_warnings`: an
    earlier stack holds its unmatched waivers back for the later one to say."""
    from dataclasses import replace

    from mlops_blueprint.policies.gate import evaluate, later_stack_view

    if with_checkov and checkov is None and json_path is not None:
        with _step(events, stack, "checkov", long=True):
            report = evaluate(e, json_path=json_path, plan=plan, allow_destroy=tuple(allow))
    else:
        report = evaluate(
            e, json_path=json_path, plan=plan, allow_destroy=tuple(allow), with_checkov=with_checkov, checkov=checkov
        )
    ok = report.ok(min_severity)
    phase = "change rules" if plan is not None and json_path is None else "gate"
    if emit:
        shown = later_stack_view(report) if later else report
        if hold_warnings:
            shown = replace(shown, waiver_warnings=[])
        elif later and earlier is not None:
            shown = replace(shown, waiver_warnings=earlier.merged(report).waiver_warnings)
        events(GateChecked(stack, shown, ok, min_severity, phase, quiet=quiet_pass and ok))
    return ok, report


def _checks(cloud: registry.Cloud, e: ResolvedEnv, target: Target) -> list[Check]:
    glue: Glue = cloud.load("glue")
    with _credentials(glue):
        return glue.verify(e, target)


def _verify_env(cloud: registry.Cloud, e: ResolvedEnv, stack: str, target: Target, events: Events) -> bool:
    checks = _checks(cloud, e, target)
    events(Verified(stack, checks))
    return all(c.ok for c in checks)


# --- plans for a review (every environment in parallel; a refusal is reported, not raised) ----------


@dataclass
class EnvPlan:
    """One environment's plan and gate for `review`: `plan` is the `terraform show -json` document (None
    when planning failed: `error` says why), `report` the whole gate on the stack and the plan. With a
    cluster stack (`<stack>-cluster`), its changes and findings are added in, and `notes` says when it
    could not be planned (the emulator has no Kubernetes API server; no plan file for it)."""

    env: str
    stack: str
    json_path: Path
    plan: dict | None
    report: Any  # policies.engine.Report
    passed: bool
    error: UserError | None = None
    notes: list[str] = field(default_factory=list)


def plan_each(
    loaded: LoadedBlueprint,
    env: str | None = None,
    *,
    local: bool = False,
    mirror: str | None = None,
    outdir: Path | None = None,
    allow_destroy: tuple[str, ...] = (),
    plans: dict[str, dict] | None = None,
    clusters: bool = True,
    events: Events = _quiet,
) -> dict[str, EnvPlan]:
    """Synth, then plan every environment at once (a thread each: their stack folders and states are
    independent) and run the whole gate on each stack and its plan. Nothing is applied.

    `plans`: stack name -> an existing `terraform show -json` document (CI planned in a matrix); then
    terraform does not run. A plan that fails (terraform error, emulator gone) is that environment's
    `error`: the other environments are still planned and gated. `clusters=False`: the cloud stacks only."""
    envs = loaded.select(env)
    cloud = registry.get(loaded.base.target.cloud)
    target = _target(loaded, local, mirror, events) if plans is None else None

    def plan_of(e: ResolvedEnv, r: Any, cluster: bool = False) -> tuple[dict | None, UserError | None, str | None]:
        if plans is not None:
            found = plans.get(r.stack)
            return found, None, None if found is not None else f"{r.stack}: not planned (no plan file for it)"
        assert target is not None
        if target.local and cluster:
            return None, None, f"{r.stack}: not planned (the emulator has no Kubernetes API server), only gated"
        try:
            only = _releases_first(cloud, e, r, target, events) if cluster else ()
            tf, _summary = _plan_env(cloud, r, e, target, events, only=only)
            note = (
                f"{r.stack}: only the Helm releases new to the cluster are planned ({', '.join(only)}); the custom "
                "objects that use their CRDs are planned once those are installed (`up` applies them in that order)"
            )
            return tf.plan_json, None, note if only else None
        except UserError as exc:
            # no credentials, no emulator, Ctrl-C: not the plan's fault, and not for a review to report
            if exc.exit_code in (ToolMissing.exit_code, 130):
                raise
            events(Note(f"{r.stack}: plan failed: {str(exc).splitlines()[0]}", stack=r.stack, level="warn"))
            return None, exc, None

    def one(e: ResolvedEnv, r: Any) -> EnvPlan:
        plan_doc, error, note = plan_of(e, r)
        passed, report = _gate(e, r.stack, events, json_path=r.json_path, plan=plan_doc, allow=allow_destroy)
        out = EnvPlan(e.name, r.stack, r.json_path, plan_doc, report, passed and error is None, error)
        out.notes += [note] if note else []
        cluster = getattr(r, "cluster", None) if clusters else None
        if cluster is not None:
            c_plan, c_error, c_note = plan_of(e, cluster, cluster=True)
            c_passed, c_report = _gate(
                e, cluster.stack, events, json_path=cluster.json_path, plan=c_plan, allow=allow_destroy
            )
            out.notes += [c_note] if c_note else []
            out.error = out.error or c_error
            out.passed = out.passed and c_passed and c_error is None
            out.report = report.merged(c_report)
            if c_plan is not None:
                out.plan = dict(out.plan or {"format_version": c_plan.get("format_version")})
                out.plan["resource_changes"] = [
                    *out.plan.get("resource_changes", []),
                    *c_plan.get("resource_changes", []),
                ]
        return out

    results = synth(loaded, env, outdir, local, events)
    with ThreadPoolExecutor(max_workers=max(1, len(envs))) as pool:
        futures = [pool.submit(one, e, r) for e, r in zip(envs, results, strict=True)]
        return {p.env: p for p in _results(futures)}


def _results(futures: list[Future[T]]) -> list[T]:
    """The futures' results, in order. A Ctrl-C reaches only the main thread, waiting here: each
    terraform the threads run gets the interrupt (a second Ctrl-C, a second one), and the wait goes on
    until they have stopped gracefully (states saved, locks released); their TerraformInterrupted
    (exit 130) then ends the command."""
    from mlops_blueprint.scripts.terraform import interrupt_running

    while True:
        try:
            return [f.result() for f in futures]
        except KeyboardInterrupt:
            if not interrupt_running():
                raise
