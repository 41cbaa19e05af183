"""`mlops-blueprint`: validate, schema, synth, check, plan, up, down, verify, rollout, emulator start|stop|status.

User errors print `file:line:col: field: message` (or a plain sentence) and exit non-zero with
no traceback. Heavy imports (provider bindings, boto3) happen inside the commands that need them.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from mlops_blueprint.blueprints import BlueprintError, LoadedBlueprint, load

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="An MLOps platform from one blueprint file: validate, synthesize, deploy, verify.")
emulator_app = typer.Typer(no_args_is_help=True, help="The embedded AWS emulator (moto server on loopback).")
app.add_typer(emulator_app, name="emulator")
out = Console()
err = Console(stderr=True)

EXIT_INPUT, EXIT_TOOL, EXIT_DEPLOY, EXIT_VERIFY, EXIT_POLICY = 2, 3, 4, 5, 6

BlueprintArg = Annotated[Path, typer.Argument(help="The blueprint YAML file.", show_default=False)]
EnvOpt = Annotated[Optional[str], typer.Option("--env", "-e", help="One environment (default: every environment).")]
LocalOpt = Annotated[bool, typer.Option("--local", help="Run against the embedded AWS emulator.")]
MirrorOpt = Annotated[Optional[str], typer.Option(
    "--provider-mirror", help="Filesystem mirror of terraform providers (default: $MLOPS_PROVIDER_MIRROR, else download).")]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Where stacks are written.")]
AllowOpt = Annotated[list[str], typer.Option(
    "--allow-destroy", help="Let the plan destroy or replace this stateful resource (address, component.name or component).")]
SeverityOpt = Annotated[str, typer.Option("--min-severity", help="Lowest severity that fails the gate: critical|high|medium|low.")]


def user_errors(fn):
    """Render user errors (bad blueprint, missing tool, emulator trouble, failed terraform) without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from mlops_blueprint.scripts.emulator import EmulatorError
        from mlops_blueprint.scripts.terraform import TerraformFailed, ToolMissing
        from mlops_blueprint.stacks import TargetNotAvailable

        try:
            return fn(*args, **kwargs)
        except BlueprintError as exc:
            for p in exc.problems:
                err.print(f"[bold red]error[/] {p}", highlight=False, soft_wrap=True)
            err.print(f"[red]{len(exc.problems)} problem(s); nothing was written.[/]")
            raise typer.Exit(EXIT_INPUT) from None
        except TargetNotAvailable as exc:
            err.print(f"[bold red]error[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INPUT) from None
        except _rollout_error() as exc:
            err.print(f"[bold red]error[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INPUT) from None
        except (ToolMissing, EmulatorError) as exc:
            err.print(f"[bold red]error[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_TOOL) from None
        except _policy_errors() as exc:
            err.print(f"[bold red]error[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INPUT) from None
        except TerraformFailed as exc:
            err.print(f"[bold red]terraform {exc.command} failed[/] for {exc.stack}:", highlight=False)
            err.print(exc.tail, highlight=False, markup=False)
            if "registry.terraform.io" in exc.tail:
                err.print("hint: the provider registry is unreachable; on an offline machine point at a provider "
                          "mirror with --provider-mirror DIR or MLOPS_PROVIDER_MIRROR (make uses /opt/tf-plugins "
                          "when it exists)", highlight=False)
            raise typer.Exit(EXIT_DEPLOY) from None
        except _credential_errors() as exc:
            err.print(f"[bold red]error[/] no cloud credentials: {str(exc).splitlines()[0]}", highlight=False, soft_wrap=True)
            err.print("  on GCP run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS)",
                      highlight=False)
            raise typer.Exit(EXIT_TOOL) from None

    return wrapper


def _credential_errors() -> tuple[type[Exception], ...]:
    try:
        from google.auth.exceptions import DefaultCredentialsError
    except ImportError:  # the gcp extra is not installed
        return ()
    return (DefaultCredentialsError,)


def _rollout_error() -> type[Exception]:
    from mlops_blueprint.scripts.rollout import RolloutError

    return RolloutError


def _policy_errors() -> tuple[type[Exception], ...]:
    from mlops_blueprint.policies.change import NotAPlan
    from mlops_blueprint.policies.packs import UnknownPack

    return (NotAPlan, UnknownPack)


def _gate(env, *, json_path=None, plan=None, allow=(), min_severity="low", with_checkov=True, checkov=None,
          quiet_pass=False):
    """Run the policy gate for one environment and print it (unless it passed and quiet_pass).
    Returns (passed, report)."""
    from mlops_blueprint.policies.gate import evaluate
    from mlops_blueprint.policies.report import ordered

    report = evaluate(env, json_path=json_path, plan=plan, allow_destroy=tuple(allow), with_checkov=with_checkov,
                      checkov=checkov)
    if quiet_pass and report.ok(min_severity):
        return True, report
    name = f"{env.blueprint.metadata.name}-{env.name}"
    failed = [f for f in ordered(report.findings) if not f.passed]
    table = Table(title=f"policy gate {name}" + (" (change rules)" if plan is not None and json_path is None else ""))
    for col in ("severity", "rule", "component", "address", "message", "waiver"):
        table.add_column(col, overflow="fold")
    for f in failed:
        style = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}[f.severity]
        table.add_row(f"[{style}]{f.severity}[/]", f.rule, f.subject, f.address, f.message, f.waived_by or "")
    if failed:
        out.print(table)
    for w in report.waivers_used:
        out.print(f"  waiver used: {w.check} on {w.resource} - {w.reason} ({w.owner}, until {w.expires})", highlight=False)
    for line in report.waiver_problems:
        out.print(f"  [red]waiver problem:[/] {line}", highlight=False)
    for line in report.waiver_warnings:
        out.print(f"  [yellow]waiver warning:[/] {line}", highlight=False)
    for line in report.allowances:
        out.print(f"  [yellow]allowance:[/] {line}", highlight=False)
    ok = report.ok(min_severity)
    n_fail = len(report.failures(min_severity))
    out.print(f"[{'green' if ok else 'red'}]policy gate {'passed' if ok else 'FAILED'}[/] {name}: "
              f"{sum(f.passed for f in report.findings)} passed, {n_fail} failing, "
              f"{sum(1 for f in failed if f.waived_by)} waived", highlight=False)
    if not ok:
        out.print("  fix the resource or the blueprint, or waive a finding in the blueprint's policies.waivers "
                  "(check, resource, reason >= 10 chars, owner, expires); a planned data loss needs --allow-destroy",
                  highlight=False)
    return ok, report


@app.command()
@user_errors
def validate(blueprint: BlueprintArg, env: EnvOpt = None) -> None:
    """Validate a blueprint and every environment's overlay (no synth, no network)."""
    loaded = load(blueprint)
    envs = loaded.select(env)
    bp = loaded.base
    c = bp.components
    built = [name for name in type(c).model_fields if getattr(c, name) is not None]
    out.print(f"[green]ok[/] {blueprint}: {bp.metadata.name} on {bp.target.cloud}/{bp.target.region}, "
              f"environments {', '.join(e.name for e in envs)}; components {', '.join(built) or 'none'}", highlight=False)


@app.command()
@user_errors
def schema(output: Annotated[Path, typer.Option("--output", "-o")] = Path("blueprints/blueprint.schema.json")) -> None:
    """Write the blueprint JSON Schema (editors use it through the yaml-language-server modeline)."""
    from mlops_blueprint.blueprints.model import Blueprint

    data = Blueprint.model_json_schema()
    data["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    data["$id"] = "https://mlops.blueprint/v1/blueprint.schema.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(output)
    out.print(f"wrote {output}")


@app.command()
@user_errors
def synth(blueprint: BlueprintArg, env: EnvOpt = None, output: OutputOpt = Path("cdktf.out"), local: LocalOpt = False) -> None:
    """Synthesize one Terraform stack per environment into OUTPUT/stacks/<blueprint>-<env>/cdk.tf.json."""
    from mlops_blueprint.stacks import synth as do_synth
    from mlops_blueprint.stacks.settings import DeploySettings

    loaded = load(blueprint)
    envs = loaded.select(env)
    t0 = time.perf_counter()
    with err.status("synthesizing (loading provider bindings)…"):
        results = do_synth(loaded, envs, output, DeploySettings.for_local(local))
    for r in results:
        n = _resource_count(r.json_path)
        out.print(f"[green]synthesized[/] {r.stack}: {n} resources -> {r.json_path}", highlight=False)
    err.print(f"[dim]{time.perf_counter() - t0:.1f}s[/]")


def _resource_count(path: Path) -> int:
    doc = json.loads(path.read_text())
    return sum(len(v) for v in doc.get("resource", {}).values())


def _target(local: bool, mirror: str | None, region: str, port: int | None = None, start: bool = True):
    from mlops_blueprint.scripts import emulator
    from mlops_blueprint.scripts.deploy import Target
    from mlops_blueprint.scripts.terraform import mirror_from_env, terraform_binary

    terraform_binary()  # fail early and clearly
    m = mirror_from_env(mirror)
    if not local:
        return Target(local=False, mirror=m)
    if start:
        emu, started = emulator.start(port)
        if started:
            err.print(f"[cyan]emulator[/] started on {emu.endpoint} (moto server, pid {emu.pid}); "
                      "it keeps running for plan/verify/down; stop it with `mlops-blueprint emulator stop`")
        else:
            err.print(f"[cyan]emulator[/] reusing {emu.endpoint}")
    else:
        emu = emulator.status()
        if emu is None:
            raise emulator.EmulatorError("no emulator is running; deploy first with `up --local`")
    return Target(local=True, mirror=m, env=emu.aws_env(region), endpoint=emu.endpoint)


def _synth_for(loaded: LoadedBlueprint, env: str | None, local: bool, output: Path):
    from mlops_blueprint.stacks import synth as do_synth
    from mlops_blueprint.stacks.settings import DeploySettings

    envs = loaded.select(env)
    with err.status("synthesizing (loading provider bindings)…"):
        return envs, do_synth(loaded, envs, output, DeploySettings.for_local(local))


def _progress(stack: str):
    def on_line(line: str) -> None:
        if any(k in line for k in ("Creating...", "Creation complete", "Destroying...", "Destruction complete",
                                   "Modifying...", "Modifications complete", "Still ")):
            err.print(f"  {stack} | {line.strip()}", highlight=False, markup=False, style="dim")
    return on_line


def _report(msg: str) -> None:
    err.print(f"  [cyan]>[/] {msg}", highlight=False)


def _local_gaps(local: bool) -> None:
    if local:
        from mlops_blueprint.scripts.emulator_shims import SHIMS

        err.print(f"[dim]emulator shims in use: {', '.join(SHIMS)} (see README: what the emulator does not cover)[/]")


@app.command()
@user_errors
def check(blueprint: BlueprintArg, env: EnvOpt = None, output: OutputOpt = Path("cdktf.out"),
          plan_file: Annotated[Optional[Path], typer.Option("--plan", help="A `terraform show -json` plan for --env: adds the change rules.")] = None,
          allow_destroy: AllowOpt = [], min_severity: SeverityOpt = "low",
          format: Annotated[Optional[str], typer.Option("--format", help="json|markdown|sarif|junit (with --output-file).")] = None,
          output_file: Annotated[Optional[Path], typer.Option("--output-file", help="Where the --format report is written.")] = None) -> None:
    """The policy gate: blueprint rules, resource rules (own pack + checkov), and change rules on a plan."""
    from mlops_blueprint.policies.change import validate_plan
    from mlops_blueprint.policies.report import FORMATS, RENDER

    if format and format not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    if min_severity not in ("critical", "high", "medium", "low"):
        raise typer.BadParameter("--min-severity must be critical, high, medium or low")
    loaded = load(blueprint)
    envs = loaded.select(env)
    plan = None
    if plan_file is not None:
        if env is None:
            raise typer.BadParameter("--plan belongs to one environment: add --env")
        from mlops_blueprint.policies.change import NotAPlan

        try:
            data = json.loads(plan_file.read_text())
        except (OSError, ValueError) as exc:
            raise NotAPlan(f"{plan_file} cannot be read as JSON: {exc}") from None
        plan = validate_plan(data, str(plan_file))
    envs, results = _synth_for(loaded, env, False, output)
    reports, ok = {}, True
    for e, r in zip(envs, results):
        passed, reports[e.name] = _gate(e, json_path=r.json_path, plan=plan, allow=allow_destroy,
                                        min_severity=min_severity)
        ok &= passed
    if format:
        text = RENDER[format](reports, min_severity)
        if output_file:
            output_file.write_text(text)
            out.print(f"wrote {format} report to {output_file}")
        else:
            print(text)
    if not ok:
        raise typer.Exit(EXIT_POLICY)


@app.command()
@user_errors
def plan(blueprint: BlueprintArg, env: EnvOpt = None, local: LocalOpt = False, provider_mirror: MirrorOpt = None,
         output: OutputOpt = Path("cdktf.out"), allow_destroy: AllowOpt = []) -> None:
    """Gate, then plan each environment, then gate the plan (data-loss guard); print what would change."""
    from mlops_blueprint.scripts.deploy import plan_env

    loaded = load(blueprint)
    _no_gcp_emulator(loaded, local)
    target = _target(local, provider_mirror, loaded.base.target.region)
    envs, results = _synth_for(loaded, env, local, output)
    ok = True
    for e, r in zip(envs, results):
        if not _gate(e, json_path=r.json_path)[0]:
            ok = False
            continue
        err.print(f"[bold]{r.stack}[/]")
        tf, summary = plan_env(r.directory, r.stack, e, target, _report, _progress(r.stack))
        _print_summary(r.stack, summary)
        ok &= _gate(e, plan=tf.show_json(), allow=allow_destroy)[0]
    if not ok:
        raise typer.Exit(EXIT_POLICY)


def _print_summary(stack: str, summary) -> None:
    out.print(f"[bold]{stack}[/]: {summary.counts()}", highlight=False)
    for label, items, style in (("replace", summary.replace, "yellow"), ("destroy", summary.delete, "red")):
        for a in items:
            out.print(f"  [{style}]{label}[/] {a}", highlight=False)


@app.command()
@user_errors
def up(blueprint: BlueprintArg, env: EnvOpt = None, local: LocalOpt = False, provider_mirror: MirrorOpt = None,
       port: Annotated[Optional[int], typer.Option(help="Emulator port when one is started (default: a free one).")] = None,
       output: OutputOpt = Path("cdktf.out"), allow_destroy: AllowOpt = [],
       skip_verify: Annotated[bool, typer.Option("--skip-verify", help="Do not run verify after apply.")] = False) -> None:
    """Deploy: synth, policy gate, state bootstrap, terraform init/plan, gate the plan, apply, then verify."""
    from concurrent.futures import ThreadPoolExecutor

    from mlops_blueprint.policies.gate import checkov_for
    from mlops_blueprint.scripts.deploy import plan_env

    loaded = load(blueprint)
    _no_gcp_emulator(loaded, local)
    target = _target(local, provider_mirror, loaded.base.target.region, port)
    _local_gaps(local)
    envs, results = _synth_for(loaded, env, local, output)
    failed = False
    for e, r in zip(envs, results):
        t0 = time.perf_counter()
        # Fast layers first: nothing is touched when they fail. checkov then runs beside terraform
        # init/plan (it only has to finish before apply), and all three layers gate the apply.
        if not _gate(e, json_path=r.json_path, with_checkov=False, quiet_pass=True)[0]:
            err.print(f"[bold red]refusing to deploy {r.stack}[/]: the policy gate failed (see above)")
            raise typer.Exit(EXIT_POLICY)
        with ThreadPoolExecutor(max_workers=1) as pool:
            checkov = pool.submit(checkov_for, e, r.json_path)
            err.print(f"[bold]{r.stack}[/]")
            tf, summary = plan_env(r.directory, r.stack, e, target, _report, _progress(r.stack))
            out.print(f"[bold]{r.stack}[/]: {summary.counts()}", highlight=False)
            plan_json = None if summary.empty else tf.show_json()
            if not _gate(e, json_path=r.json_path, plan=plan_json, allow=allow_destroy, checkov=checkov.result())[0]:
                err.print(f"[bold red]refusing to apply {r.stack}[/]: the policy gate failed (see above)")
                raise typer.Exit(EXIT_POLICY)
        if summary.empty:
            out.print(f"[green]up to date[/] {r.stack}: no changes", highlight=False)
        else:
            _report("terraform apply")
            tf.apply()
            out.print(f"[green]applied[/] {r.stack} in {time.perf_counter() - t0:.0f}s", highlight=False)
        if not skip_verify:
            failed |= not _verify_env(e, target)
    if failed:
        raise typer.Exit(EXIT_VERIFY)


@app.command()
@user_errors
def down(blueprint: BlueprintArg, env: EnvOpt = None, local: LocalOpt = False, provider_mirror: MirrorOpt = None,
         output: OutputOpt = Path("cdktf.out"),
         keep_state: Annotated[bool, typer.Option("--keep-state", help="Keep the state bucket and lock table.")] = False) -> None:
    """Destroy each environment. Protected environments (protect_stateful) refuse, by design."""
    from mlops_blueprint.scripts.deploy import delete_state, plan_env

    loaded = load(blueprint)
    _no_gcp_emulator(loaded, local)
    envs = loaded.select(env)
    protected = [e.name for e in envs if e.settings.protect_stateful]
    if protected:
        err.print(f"[bold red]error[/] environment(s) {', '.join(protected)} protect their stateful resources "
                  "(protect_stateful: true). Set protect_stateful: false for that environment, deploy it, then run down.")
        raise typer.Exit(EXIT_INPUT)
    target = _target(local, provider_mirror, loaded.base.target.region, start=True)
    envs, results = _synth_for(loaded, env, local, output)
    for e, r in zip(envs, results):
        err.print(f"[bold]{r.stack}[/]")
        tf, summary = plan_env(r.directory, r.stack, e, target, _report, _progress(r.stack), destroy=True)
        out.print(f"[bold]{r.stack}[/]: {summary.counts()}", highlight=False)
        if not summary.empty:
            _report("terraform apply (destroy)")
            tf.apply()
        if local and not keep_state:
            delete_state(e, target, _report)
        out.print(f"[green]destroyed[/] {r.stack}", highlight=False)


def _verify_env(e, target) -> bool:
    region = e.blueprint.target.region
    if e.blueprint.target.cloud == "gcp":
        from mlops_blueprint.scripts import rollout as glue
        from mlops_blueprint.scripts.verify_gcp import verify as run_verify_gcp

        checks = run_verify_gcp(e, glue.gcp_clients(region))
    else:
        from mlops_blueprint.scripts.deploy import client
        from mlops_blueprint.scripts.verify_aws import verify as run_verify

        checks = run_verify(e, lambda service: client(target, service, region))
    table = Table(title=f"verify {e.blueprint.metadata.name}-{e.name}", show_lines=False)
    for col in ("component", "subject", "result", "detail"):
        table.add_column(col)
    for c in checks:
        table.add_row(c.component, c.subject, "[green]ok[/]" if c.ok else "[red]FAIL[/]", c.detail)
    out.print(table)
    bad = [c for c in checks if not c.ok]
    out.print(f"[{'red' if bad else 'green'}]{len(checks) - len(bad)}/{len(checks)} checks passed[/]")
    return not bad


@app.command()
@user_errors
def verify(blueprint: BlueprintArg, env: EnvOpt = None, local: LocalOpt = False) -> None:
    """Check through the cloud's SDK that what the blueprint describes exists with the promised settings."""
    loaded = load(blueprint)
    _no_gcp_emulator(loaded, local)
    target = None if loaded.base.target.cloud == "gcp" else _target(local, None, loaded.base.target.region, start=False)
    ok = all([_verify_env(e, target) for e in loaded.select(env)])
    if not ok:
        raise typer.Exit(EXIT_VERIFY)


def _no_gcp_emulator(loaded: LoadedBlueprint, local: bool) -> None:
    if local and loaded.base.target.cloud != "aws":
        from mlops_blueprint.stacks import TargetNotAvailable

        raise TargetNotAvailable(f"--local is the embedded AWS emulator; there is no emulator for "
                                 f"{loaded.base.target.cloud} (synth and check run offline; verify and rollout "
                                 "need the cloud)")


@app.command()
@user_errors
def rollout(blueprint: BlueprintArg,
            endpoint: Annotated[str, typer.Option("--endpoint", help="The blueprint endpoint to roll out to.", show_default=False)],
            image_tag: Annotated[str, typer.Option("--image-tag", help="Tag of the model's serving image in the registry.", show_default=False)],
            env: Annotated[str, typer.Option("--env", "-e", help="The environment.", show_default=False)],
            traffic: Annotated[int, typer.Option("--traffic", help="Percent of traffic for the new version (100 promotes it).")] = 10,
            artifact: Annotated[Optional[str], typer.Option("--artifact", help="Model artifact URI (default: the registry bucket's <model>/<tag>/).")] = None,
            local: LocalOpt = False) -> None:
    """Register a new model version and send a share of an endpoint's traffic to it (canary), or all of it."""
    from mlops_blueprint.scripts import rollout as glue

    loaded = load(blueprint)
    _no_gcp_emulator(loaded, local)
    e = loaded.select(env)[0]
    if e.blueprint.target.cloud == "gcp":
        result = glue.rollout_gcp(e, endpoint, image_tag, traffic, glue.gcp_clients(e.blueprint.target.region), artifact)
    else:
        from mlops_blueprint.scripts.deploy import client

        target = _target(local, None, e.blueprint.target.region, start=False)
        result = glue.rollout_aws(e, endpoint, image_tag, traffic,
                                  lambda service: client(target, service, e.blueprint.target.region), artifact)
    for step in result.steps:
        _report(step)
    out.print(f"[green]rolled out[/] {result.version} to {result.endpoint}: "
              + ", ".join(f"{k} {v}%" for k, v in result.traffic.items()), highlight=False)


@emulator_app.command("start")
@user_errors
def emulator_start(port: Annotated[Optional[int], typer.Option(help="Port on 127.0.0.1 (default: a free one).")] = None) -> None:
    """Start the embedded AWS (or report the running one)."""
    from mlops_blueprint.scripts import emulator

    emu, started = emulator.start(port)
    out.print(f"{'started' if started else 'already running'}: {emu.endpoint} (pid {emu.pid})")


@emulator_app.command("stop")
def emulator_stop() -> None:
    """Stop the embedded AWS; everything deployed into it is gone."""
    from mlops_blueprint.scripts import emulator

    emu = emulator.stop()
    out.print(f"stopped {emu.endpoint}" if emu else "no emulator was running")


@emulator_app.command("status")
def emulator_status() -> None:
    """Is the embedded AWS running, and where."""
    from mlops_blueprint.scripts import emulator

    emu = emulator.status()
    if emu is None:
        out.print("not running")
        raise typer.Exit(1)
    out.print(f"running: {emu.endpoint} (pid {emu.pid})")


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
