"""Rendering the pipeline's events in a terminal with rich: the CLI's only output.

User and cloud text is never read as rich markup: it is printed with `markup=False` or escaped
with `plain()`, so a waiver reason such as `[/x]` prints as itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # imported where used: `validate` never shows a spinner or a table
    from rich.progress import Progress, TaskID

from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.loader import BlueprintError, LoadedBlueprint
from mlops_blueprint.scripts import events as ev

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}


def plain(text: object) -> str:
    """User or cloud text inside a markup string: escaped, so `[/x]` prints as itself."""
    return escape(str(text))


def _ordered(findings: list) -> list:
    from mlops_blueprint.policies.report import ordered

    return ordered(findings)


class Renderer:
    """Renders pipeline events: a live spinner for long steps, tables for gates and checks."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.tasks: dict[tuple[str, str], TaskID] = {}
        # Environments are planned in threads (`plan_each`): one event is handled at a time.
        self.lock = threading.RLock()

    def __call__(self, e: ev.Event) -> None:
        handler = getattr(self, f"on_{type(e).__name__}", None)
        if handler:
            with self.lock:
                handler(e)

    def close(self) -> None:
        if self.progress:
            self.progress.stop()
            self.progress = None

    def on_StepStarted(self, e: ev.StepStarted) -> None:
        if not e.long:
            return
        if self.progress is None:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
            )
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
        err.print(
            f"[cyan]emulator[/] {verb} {e.endpoint} (pid {e.pid})"
            + (
                "; it keeps running for plan/verify/down; stop it with `mlops-blueprint emulator stop`"
                if e.started
                else ""
            )
        )

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
            from rich.table import Table

            table = Table(title=f"policy gate {e.stack}" + (" (change rules)" if e.phase == "change rules" else ""))
            for col in ("severity", "rule", "component", "address", "message", "waiver"):
                table.add_column(col, overflow="fold")
            for f in failed:
                table.add_row(
                    f"[{STYLE[f.severity]}]{f.severity}[/]",
                    *(plain(x) for x in (f.rule, f.subject, f.address, f.message, f.waived_by or "")),
                )
            out.print(table)
        for w in r.waivers_used:
            out.print(
                f"  waiver used: {w.check} on {w.resource} - {w.reason} ({w.owner}, until {w.expires})", markup=False
            )
        for label, lines, style in (
            ("waiver problem", r.waiver_problems, "red"),
            ("waiver warning", r.waiver_warnings, "yellow"),
            ("allowance", r.allowances, "yellow"),
        ):
            for line in lines:
                out.print(f"  [{style}]{label}:[/] ", end="")
                out.print(line, markup=False)
        n_fail = len(r.failures(e.min_severity))
        waived = sum(1 for f in failed if f.waived_by)
        out.print(
            f"[{'green' if e.passed else 'red'}]policy gate {'passed' if e.passed else 'FAILED'}[/] {e.stack}: "
            f"{sum(f.passed for f in r.findings)} passed, {n_fail} failing, {waived} waived"
        )
        skipped = [n.split()[1] for n in r.notes if n.startswith("checkov ") and "not enforced by the packs" in n]
        if skipped:
            out.print(
                f"  checkov checks not enforced by the packs ({len(skipped)}, reasons in --format markdown): "
                + ", ".join(skipped),
                style="dim",
                markup=False,
            )
        if not e.passed:
            out.print(
                "  fix the resource or the blueprint, or waive a finding in the blueprint's policies.waivers "
                "(check, resource, reason >= 10 chars, owner, expires); a planned data loss needs --allow-destroy"
            )

    def on_Planned(self, e: ev.Planned) -> None:
        self.close()
        out.print(f"[bold]{e.stack}[/]: {e.summary.counts()}")
        for label, items, style in (("replace", e.summary.replace, "yellow"), ("destroy", e.summary.delete, "red")):
            for a in items:
                out.print(f"  [{style}]{label}[/] ", end="")
                out.print(a, markup=False)

    def on_Applied(self, e: ev.Applied) -> None:
        out.print(
            f"[green]applied[/] {e.stack} in {e.seconds:.0f}s"
            if e.changed
            else f"[green]up to date[/] {e.stack}: no changes"
        )

    def on_Destroyed(self, e: ev.Destroyed) -> None:
        out.print(f"[green]destroyed[/] {e.stack}")

    def on_Verified(self, e: ev.Verified) -> None:
        self.close()
        from rich.table import Table

        table = Table(title=f"verify {e.stack}")
        for col in ("component", "subject", "result", "detail"):
            table.add_column(col)
        for c in e.checks:
            table.add_row(
                plain(c.component), plain(c.subject), "[green]ok[/]" if c.ok else "[red]FAIL[/]", plain(c.detail)
            )
        out.print(table)
        bad = sum(not c.ok for c in e.checks)
        out.print(f"[{'red' if bad else 'green'}]{len(e.checks) - bad}/{len(e.checks)} checks passed[/]")

    def on_RolledOut(self, e: ev.RolledOut) -> None:
        for step in e.result.steps:
            err.print(f"  [cyan]>[/] {plain(step)}")
        out.print(
            f"[green]rolled out[/] {plain(e.result.version)} to {plain(e.result.endpoint)}: "
            + ", ".join(f"{k} {v}%" for k, v in e.result.traffic.items())
        )


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
            err.print(f"  hint: {exc.hint}", markup=False, soft_wrap=True)  # a command in it must paste whole
        if exc.exit_code == INTERRUPTED:
            _release_jsii()
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        renderer.close()
        err.print("[bold red]interrupted[/]")
        _release_jsii()
        raise typer.Exit(INTERRUPTED) from None
    finally:
        renderer.close()


INTERRUPTED = 130  # 128 + SIGINT


def _release_jsii() -> None:
    """A Ctrl-C reaches jsii's node helper too (it shares the terminal's process group) and ends it; jsii's
    exit hook would then print a BrokenPipeError traceback. Stop it here, quietly."""
    import gc
    import sys

    process = sys.modules.get("jsii._kernel.providers.process")
    node_class = getattr(process, "_NodeProcess", None)
    if node_class is None:
        return
    for node in [o for o in gc.get_objects() if isinstance(o, node_class)]:
        with contextlib.suppress(Exception):
            node.stop()


def validated(path: Path, loaded: LoadedBlueprint, env: str | None) -> None:
    """`validate`'s answer: its warnings, then one line."""
    bp, c = loaded.base, loaded.base.components
    built = [name for name in type(c).model_fields if getattr(c, name) is not None]
    for w in loaded.warnings:
        err.print("[yellow]warning[/] ", end="")
        err.print(str(w), markup=False, soft_wrap=True)
    envs = ", ".join(e.name for e in loaded.select(env))
    out.print(
        f"[green]ok[/] {plain(path)}: {bp.metadata.name} on {bp.target.cloud}/{bp.target.region}, "
        f"environments {envs}; components {', '.join(built) or 'none'}"
    )
