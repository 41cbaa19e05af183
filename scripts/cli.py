"""`mlops-blueprint`: a thin CLI over the pipeline library (`scripts/pipeline.py`).

It parses arguments, calls the library, and renders the library's events with rich. User errors
(`UserError`, which carries its exit code) print a plain message and no traceback. User text is
never read as rich markup.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.loader import BlueprintError
from mlops_blueprint.scripts import events as ev
from mlops_blueprint.scripts import pipeline

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="An MLOps platform from one blueprint file: validate, synthesize, deploy, verify.")
emulator_app = typer.Typer(no_args_is_help=True, help="The embedded AWS emulator (moto server on loopback).")
app.add_typer(emulator_app, name="emulator")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

BlueprintArg = Annotated[Path, typer.Argument(help="The blueprint YAML file.", show_default=False)]
EnvOpt = Annotated[Optional[str], typer.Option("--env", "-e", help="One environment (default: every environment).")]
LocalOpt = Annotated[bool, typer.Option("--local", help="Run against the embedded AWS emulator.")]
MirrorOpt = Annotated[Optional[str], typer.Option(
    "--provider-mirror", help="Filesystem mirror of terraform providers (default: $MLOPS_PROVIDER_MIRROR, else download).")]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Where stacks are written.")]
AllowOpt = Annotated[list[str], typer.Option(
    "--allow-destroy", help="Let the plan destroy or replace this stateful resource (address, component.name or component).")]
SeverityOpt = Annotated[str, typer.Option("--min-severity", help="Lowest severity that fails the gate: critical|high|medium|low.")]
STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}


class Renderer:
    """Renders pipeline events: a live spinner for long steps, tables for gates and checks."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.tasks: dict[tuple[str, str], int] = {}

    def __call__(self, e: ev.Event) -> None:
        handler = getattr(self, f"on_{type(e).__name__}", None)
        if handler:
            handler(e)

    def close(self) -> None:
        if self.progress:
            self.progress.stop()
            self.progress = None

    def on_StepStarted(self, e: ev.StepStarted) -> None:
        if not e.long:
            return
        if self.progress is None:
            self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                     console=err, transient=True)
            self.progress.start()
        self.tasks[(e.stack, e.step)] = self.progress.add_task(f"{e.stack}: {e.step}", total=None)

    def on_StepLine(self, e: ev.StepLine) -> None:
        line = e.line.strip()
        if any(k in line for k in ("Creating...", "Destroying...", "Modifying...", "Still ")):
            for (stack, step), task in self.tasks.items():
                if stack == e.stack and self.progress:
                    self.progress.update(task, description=f"{stack}: {step} | {line[:100]}")

    def on_StepFinished(self, e: ev.StepFinished) -> None:
        task = self.tasks.pop((e.stack, e.step), None)
        if task is not None and self.progress:
            self.progress.remove_task(task)
            err.print(f"  [cyan]>[/] {e.stack}: ", end="")
            err.print(f"{e.step} ({e.seconds:.0f}s)", markup=False, style="dim")
        if not self.tasks:
            self.close()

    def on_Note(self, e: ev.Note) -> None:
        err.print(f"  {e.message}", markup=False, style={"dim": "dim", "warn": "yellow"}.get(e.level, ""))

    def on_EmulatorReady(self, e: ev.EmulatorReady) -> None:
        verb = "started on" if e.started else "reusing"
        err.print(f"[cyan]emulator[/] {verb} {e.endpoint} (pid {e.pid})"
                  + ("; it keeps running for plan/verify/down; stop it with `mlops-blueprint emulator stop`" if e.started else ""))

    def on_Synthesized(self, e: ev.Synthesized) -> None:
        out.print(f"[green]synthesized[/] {e.stack}: {e.resources} resources -> ", end="")
        out.print(str(e.path), markup=False)

    def on_GateChecked(self, e: ev.GateChecked) -> None:
        if e.quiet:
            return
        self.close()
        r = e.report
        failed = [f for f in _ordered(r.findings) if not f.passed]
        if failed:
            table = Table(title=f"policy gate {e.stack}" + (" (change rules)" if e.phase == "change rules" else ""))
            for col in ("severity", "rule", "component", "address", "message", "waiver"):
                table.add_column(col, overflow="fold")
            for f in failed:
                table.add_row(f"[{STYLE[f.severity]}]{f.severity}[/]", *(_plain(x) for x in (
                    f.rule, f.subject, f.address, f.message, f.waived_by or "")))
            out.print(table)
        for w in r.waivers_used:
            out.print(f"  waiver used: {w.check} on {w.resource} - {w.reason} ({w.owner}, until {w.expires})", markup=False)
        for label, lines, style in (("waiver problem", r.waiver_problems, "red"), ("waiver warning", r.waiver_warnings, "yellow"),
                                    ("allowance", r.allowances, "yellow")):
            for line in lines:
                out.print(f"  [{style}]{label}:[/] ", end="")
                out.print(line, markup=False)
        n_fail = len(r.failures(e.min_severity))
        waived = sum(1 for f in failed if f.waived_by)
        out.print(f"[{'green' if e.passed else 'red'}]policy gate {'passed' if e.passed else 'FAILED'}[/] {e.stack}: "
                  f"{sum(f.passed for f in r.findings)} passed, {n_fail} failing, {waived} waived")
        if not e.passed:
            out.print("  fix the resource or the blueprint, or waive a finding in the blueprint's policies.waivers "
                      "(check, resource, reason >= 10 chars, owner, expires); a planned data loss needs --allow-destroy")

    def on_Planned(self, e: ev.Planned) -> None:
        self.close()
        out.print(f"[bold]{e.stack}[/]: {e.summary.counts()}")
        for label, items, style in (("replace", e.summary.replace, "yellow"), ("destroy", e.summary.delete, "red")):
            for a in items:
                out.print(f"  [{style}]{label}[/] ", end="")
                out.print(a, markup=False)

    def on_Applied(self, e: ev.Applied) -> None:
        out.print(f"[green]applied[/] {e.stack} in {e.seconds:.0f}s" if e.changed else
                  f"[green]up to date[/] {e.stack}: no changes")

    def on_Destroyed(self, e: ev.Destroyed) -> None:
        out.print(f"[green]destroyed[/] {e.stack}")

    def on_Verified(self, e: ev.Verified) -> None:
        self.close()
        table = Table(title=f"verify {e.stack}")
        for col in ("component", "subject", "result", "detail"):
            table.add_column(col)
        for c in e.checks:
            table.add_row(_plain(c.component), _plain(c.subject), "[green]ok[/]" if c.ok else "[red]FAIL[/]", _plain(c.detail))
        out.print(table)
        bad = sum(not c.ok for c in e.checks)
        out.print(f"[{'red' if bad else 'green'}]{len(e.checks) - bad}/{len(e.checks)} checks passed[/]")

    def on_RolledOut(self, e: ev.RolledOut) -> None:
        for step in e.result.steps:
            err.print(f"  [cyan]>[/] {_plain(step)}")
        out.print(f"[green]rolled out[/] {_plain(e.result.version)} to {_plain(e.result.endpoint)}: "
                  + ", ".join(f"{k} {v}%" for k, v in e.result.traffic.items()))


def _plain(text: object) -> str:
    """User or cloud text inside a markup string: escaped, so `[/x]` prints as itself."""
    from rich.markup import escape

    return escape(str(text))


def _ordered(findings: list) -> list:
    from mlops_blueprint.policies.report import ordered

    return ordered(findings)


@contextlib.contextmanager
def rendering() -> Iterator[Renderer]:
    """Run a command's body: events render as they come; user errors print plainly (no traceback)
    and exit with their own code."""
    renderer = Renderer()
    try:
        yield renderer
    except BlueprintError as exc:
        renderer.close()
        for p in exc.problems:
            err.print("[bold red]error[/] ", end="")
            err.print(str(p), markup=False, soft_wrap=True)
        err.print(f"[red]{len(exc.problems)} problem(s); nothing was written.[/]")
        raise typer.Exit(exc.exit_code) from None
    except UserError as exc:
        renderer.close()
        err.print("[bold red]error[/] ", end="")
        err.print(str(exc), markup=False, soft_wrap=True)
        if exc.hint:
            err.print(f"  hint: {exc.hint}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    finally:
        renderer.close()


@app.command()
def validate(blueprint: BlueprintArg, env: EnvOpt = None) -> None:
    """Validate a blueprint and every environment's overlay (no synth, no network)."""
    with rendering():
        loaded = pipeline.validate(blueprint, env)
        bp, c = loaded.base, loaded.base.components
        built = [name for name in type(c).model_fields if getattr(c, name) is not None]
        out.print(f"[green]ok[/] {_plain(blueprint)}: {bp.metadata.name} on {bp.target.cloud}/{bp.target.region}, "
                  f"environments {', '.join(e.name for e in loaded.select(env))}; components {', '.join(built) or 'none'}")


@app.command()
def schema(output: Annotated[Path, typer.Option("--output", "-o")] = Path("blueprints/blueprint.schema.json")) -> None:
    """Write the blueprint JSON Schema (editors use it through the yaml-language-server modeline)."""
    with rendering():
        from mlops_blueprint.blueprints.model import json_schema

        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_suffix(".tmp")
        tmp.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
        tmp.replace(output)
        out.print(f"wrote {_plain(output)}")


@app.command()
def synth(blueprint: BlueprintArg, env: EnvOpt = None, output: OutputOpt = Path("cdktf.out"), local: LocalOpt = False) -> None:
    """Synthesize one Terraform stack per environment into OUTPUT/stacks/<blueprint>-<env>/cdk.tf.json."""
    with rendering() as renderer:
        pipeline.synth(pipeline.validate(blueprint, env), env, output, local, events=renderer)


@app.command()
def check(blueprint: BlueprintArg, env: EnvOpt = None, output: OutputOpt = Path("cdktf.out"),
          plan_file: Annotated[Optional[Path], typer.Option("--plan", help="A `terraform show -json` plan for --env: adds the change rules.")] = None,
          allow_destroy: AllowOpt = [], min_severity: SeverityOpt = "low",
          format: Annotated[Optional[str], typer.Option("--format", help="json|markdown|sarif|junit (with --output-file).")] = None,
          output_file: Annotated[Optional[Path], typer.Option("--output-file", help="Where the --format report is written.")] = None) -> None:
    """The policy gate: blueprint rules, resource rules (own pack + checkov), and change rules on a plan."""
    with rendering() as renderer:
        outcome = pipeline.check(pipeline.validate(blueprint, env), env, output, plan=plan_file, allow_destroy=tuple(allow_destroy),
                                 min_severity=min_severity, report_format=format, events=renderer)
        if outcome.rendered is not None and output_file:
            output_file.write_text(outcome.rendered)
            out.print(f"wrote {format} report to {_plain(output_file)}")
        elif outcome.rendered is not None:
            print(outcome.rendered)
        outcome.raise_if_failed()


@app.command()
def plan(blueprint: BlueprintArg, env: EnvOpt = None, local: LocalOpt = False, provider_mirror: MirrorOpt = None,
         output: OutputOpt = Path("cdktf.out"), allow_destroy: AllowOpt = []) -> None:
    """Gate, then plan each environment, then gate the plan (data-loss guard); print what would change."""
    with rendering() as renderer:
        pipeline.plan(pipeline.validate(blueprint, env), env, local=local, mirror=provider_mirror, outdir=output,
                      allow_destroy=tuple(allow_destroy), events=renderer)


@app.command()
def up(blueprint: BlueprintArg, env: EnvOpt = None, local: LocalOpt = False, provider_mirror: MirrorOpt = None,
       port: Annotated[Optional[int], typer.Option(help="Emulator port when one is started (default: a free one).")] = None,
       output: OutputOpt = Path("cdktf.out"), allow_destroy: AllowOpt = [],
       skip_verify: Annotated[bool, typer.Option("--skip-verify", help="Do not run verify after apply.")] = False) -> None:
    """Deploy: synth, policy gate, state bootstrap, terraform init/plan, gate the plan, apply, then verify."""
    with rendering() as renderer:
        pipeline.up(pipeline.validate(blueprint, env), env, local=local, mirror=provider_mirror, port=port, outdir=output,
                    allow_destroy=tuple(allow_destroy), verify=not skip_verify, events=renderer)


@app.command()
def down(blueprint: BlueprintArg, env: EnvOpt = None, local: LocalOpt = False, provider_mirror: MirrorOpt = None,
         output: OutputOpt = Path("cdktf.out"),
         keep_state: Annotated[bool, typer.Option("--keep-state", help="Keep the state bucket and lock table.")] = False) -> None:
    """Destroy each environment. Protected environments (protect_stateful) refuse, by design."""
    with rendering() as renderer:
        pipeline.down(pipeline.validate(blueprint, env), env, local=local, mirror=provider_mirror, outdir=output,
                      keep_state=keep_state, events=renderer)


@app.command()
def verify(blueprint: BlueprintArg, env: EnvOpt = None, local: LocalOpt = False) -> None:
    """Check through the cloud's SDK that what the blueprint describes exists with the promised settings."""
    with rendering() as renderer:
        pipeline.verify(pipeline.validate(blueprint, env), env, local=local, events=renderer)


@app.command()
def rollout(blueprint: BlueprintArg,
            endpoint: Annotated[str, typer.Option("--endpoint", help="The blueprint endpoint to roll out to.", show_default=False)],
            image_tag: Annotated[str, typer.Option("--image-tag", help="Tag of the model's serving image in the registry.", show_default=False)],
            env: Annotated[str, typer.Option("--env", "-e", help="The environment.", show_default=False)],
            traffic: Annotated[int, typer.Option("--traffic", help="Percent of traffic for the new version (100 promotes it).")] = 10,
            artifact: Annotated[Optional[str], typer.Option("--artifact", help="Model artifact URI (default: the registry bucket's <model>/<tag>/).")] = None,
            local: LocalOpt = False) -> None:
    """Register a new model version and send a share of an endpoint's traffic to it (canary), or all of it."""
    with rendering() as renderer:
        pipeline.rollout(pipeline.validate(blueprint, env), env, endpoint, image_tag, traffic=traffic, artifact=artifact,
                         local=local, events=renderer)


@emulator_app.command("start")
def emulator_start(port: Annotated[Optional[int], typer.Option(help="Port on 127.0.0.1 (default: a free one).")] = None) -> None:
    """Start the embedded AWS (or report the running one)."""
    from mlops_blueprint.scripts import emulator

    try:
        emu, started = emulator.start(port)
    except UserError as exc:
        err.print(f"[bold red]error[/] {_plain(exc)}")
        raise typer.Exit(exc.exit_code) from None
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
