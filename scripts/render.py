"""Rendering the pipeline's events in a terminal with rich: the CLI's only output.

User and cloud text is never read as rich markup: it is printed with `markup=False` or escaped
with `plain()`, so a waiver reason such as `[/x]` prints as itself.

Nor is it read as terminal control: `out` and `err` are `SafeConsole`s, which pass every piece of
text they write (strings, `Text`, table cells, progress lines) through `text.terminal_safe`, so an
ESC sequence, an OSC 8 link or a bidi override from a blueprint, a plan or a cloud's answer prints
as visible escapes (`\x1b`, `\u202e`). `plain()` also writes a line break as `\n`: a value shown in
one line stays in that line.

When the output is not a terminal (a CI log, a pipe), lines are as wide as COLUMNS says, or WIDE:
a table never cuts or folds an id or a number to fit 80 columns (`table()` keeps id and number
columns whole).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console, ConsoleDimensions, ConsoleOptions, RenderableType
from rich.markup import escape
from rich.segment import Segment

if TYPE_CHECKING:  # imported where used: `validate` never shows a spinner or a table
    from rich.progress import Progress, TaskID

from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.loader import BlueprintError, LoadedBlueprint
from mlops_blueprint.blueprints.text import is_unsafe, terminal_safe
from mlops_blueprint.scripts import events as ev

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from rich.table import Table

# The line width when the output is not a terminal and COLUMNS is not set: wide enough that no table
# of the CLI's cuts an id, a number or an address (CI logs do not wrap).
WIDE = 200


def safe_lines(text: str) -> str:
    """`text.terminal_safe` on each line: line breaks stay (the CLI's own multi-line output), every other
    unsafe character becomes a visible escape."""
    if text.isprintable() or not any(is_unsafe(ch) for ch in text.replace("\n", "")):
        return text
    return "\n".join(terminal_safe(line) for line in text.split("\n"))


class SafeConsole(Console):
    """A rich Console that never writes a control, bidi or zero-width character it was given as text,
    and that is WIDE columns wide when it does not write to a terminal (unless COLUMNS says otherwise).

    Every renderable reaches the output through `render`, whose text segments are escaped here; the
    segments rich makes to move the cursor (a live spinner) are its own and pass unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kwargs.get("width") is None:
            # rich reads COLUMNS once, here; the module's consoles are made at import, so the width would be
            # whatever COLUMNS was then. `size` reads it when asked instead.
            self._width = None

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            text = segment.text
            if segment.control or text.isprintable() or text == "\n":
                yield segment
            else:
                yield Segment(safe_lines(text), segment.style, segment.control)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if not self.is_terminal:  # a log has no right edge: a line wider than the width is kept whole
            kwargs.setdefault("crop", False)
        super().print(*objects, **kwargs)

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and not self.is_terminal:  # a CI log or a pipe: COLUMNS, else WIDE
            columns = self._environ.get("COLUMNS", "")
            return ConsoleDimensions(int(columns) if columns.isdigit() else WIDE, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


out = SafeConsole(highlight=False)
err = SafeConsole(stderr=True, highlight=False)
STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}


def plain(text: object) -> str:
    """User or cloud text inside a markup string, on one line: markup escaped (`[/x]` prints as itself),
    and control, bidi and zero-width characters and line breaks written as escapes."""
    return escape(terminal_safe(str(text)))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]], *, markup: bool = False) -> Table:
    """A rich table of user or cloud text. A column whose cells never hold a space (ids, names,
    numbers, addresses) is never wrapped or folded; the other columns wrap at spaces to make room. Off
    a terminal the table is as wide as its whole columns need, however narrow COLUMNS is, so a CI log
    never shows a cut id (`MLOPS_AWS_01`/`6`); on a terminal it fits the screen, as rich does.
    Cells are text, not markup, unless `markup` (then the caller escapes with `plain()`)."""
    from rich.cells import cell_len
    from rich.text import Text

    cells = [[str(x) for x in r] for r in rows]
    names = [terminal_safe(n) for n in columns]
    t: Any = _whole_table()(title=Text(terminal_safe(title)), title_justify="left")
    for i, name in enumerate(names):
        shown = [_shown(r[i], markup) for r in cells if i < len(r)]
        whole = all(" " not in x for x in shown)
        words = [*shown, name] if whole else [w for x in [*shown, name] for w in x.split()]
        t.add_column(Text(name), no_wrap=whole, overflow="ellipsis" if whole else "fold")
        t.longest.append(max((cell_len(w) for w in words), default=1))
    for r in cells:
        t.add_row(*(x if markup else Text(terminal_safe(x)) for x in r))
    return t


@functools.cache
def _whole_table() -> type[Table]:
    """rich's Table, widened off a terminal to the width its whole columns need (set as `need`)."""
    from rich.table import Table

    class WholeTable(Table):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.longest: list[int] = []  # per column: its longest word (a whole column: its widest cell)

        def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterable[Any]:
            if not options.is_terminal:  # no column narrower than its longest word: nothing is folded
                for column, longest in zip(self.columns, self.longest, strict=True):
                    column.min_width = longest
                need = sum(self.longest) + 3 * len(self.longest) + 1  # padding and borders
                if options.max_width < need:
                    options = options.update_width(need)
            yield from super().__rich_console__(console, options)

    return WholeTable


def _shown(cell: str, markup: bool) -> str:
    """What a cell shows (its markup removed)."""
    if not markup:
        return terminal_safe(cell)
    from rich.text import Text

    return Text.from_markup(cell).plain


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
        self.tasks[(e.stack, e.step)] = self.progress.add_task(plain(f"{e.stack}: {e.step}"), total=None)

    def on_StepLine(self, e: ev.StepLine) -> None:
        line = e.line.strip()
        if any(k in line for k in ("Creating...", "Destroying...", "Modifying...", "Still ")):
            for (stack, step), task in self.tasks.items():
                if stack == e.stack and self.progress:
                    self.progress.update(task, description=plain(f"{stack}: {step} | {line[:100]}"))

    def on_StepFinished(self, e: ev.StepFinished) -> None:
        task = self.tasks.pop((e.stack, e.step), None)
        if task is not None and self.progress:
            self.progress.remove_task(task)
            err.print(f"  [cyan]>[/] {plain(e.stack)}: ", end="")
            err.print(f"{e.step} ({e.seconds:.0f}s)", markup=False, style="dim")
        if not self.tasks:
            self.close()

    def on_Note(self, e: ev.Note) -> None:
        err.print(f"  {safe_lines(e.message)}", markup=False, style={"dim": "dim", "warn": "yellow"}.get(e.level, ""))

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
        out.print(f"[green]synthesized[/] {plain(e.stack)}: {e.resources} resources -> ", end="")
        out.print(terminal_safe(str(e.path)), markup=False)

    def on_GateChecked(self, e: ev.GateChecked) -> None:
        if e.quiet:
            return
        self.close()
        r = e.report
        failed = [f for f in _ordered(r.findings) if not f.passed]
        if failed:
            title = f"policy gate {e.stack}" + (" (change rules)" if e.phase == "change rules" else "")
            rows = [
                [
                    f"[{STYLE[f.severity]}]{f.severity}[/]",
                    *(plain(x) for x in (f.rule, f.subject, f.address, f.message, f.waived_by or "")),
                ]
                for f in failed
            ]
            out.print(
                table(title, ("severity", "rule", "component", "address", "message", "waiver"), rows, markup=True)
            )
        for w in r.waivers_used:
            shown = (terminal_safe(str(x)) for x in (w.check, w.resource, w.reason, w.owner, w.expires))
            out.print("  waiver used: {} on {} - {} ({}, until {})".format(*shown), markup=False)
        for label, lines, style in (
            ("waiver problem", r.waiver_problems, "red"),
            ("waiver warning", r.waiver_warnings, "yellow"),
            ("allowance", r.allowances, "yellow"),
        ):
            for line in lines:
                out.print(f"  [{style}]{label}:[/] ", end="")
                out.print(terminal_safe(line), markup=False)
        n_fail = len(r.failures(e.min_severity))
        waived = sum(1 for f in failed if f.waived_by)
        out.print(
            f"[{'green' if e.passed else 'red'}]policy gate {'passed' if e.passed else 'FAILED'}[/] {plain(e.stack)}: "
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
        out.print(f"[bold]{plain(e.stack)}[/]: {plain(e.summary.counts())}")
        for label, items, style in (("replace", e.summary.replace, "yellow"), ("destroy", e.summary.delete, "red")):
            for a in items:
                out.print(f"  [{style}]{label}[/] ", end="")
                out.print(terminal_safe(a), markup=False)

    def on_Applied(self, e: ev.Applied) -> None:
        out.print(
            f"[green]applied[/] {plain(e.stack)} in {e.seconds:.0f}s"
            if e.changed
            else f"[green]up to date[/] {plain(e.stack)}: no changes"
        )

    def on_Destroyed(self, e: ev.Destroyed) -> None:
        out.print(f"[green]destroyed[/] {plain(e.stack)}")

    def on_Verified(self, e: ev.Verified) -> None:
        self.close()
        rows = [
            [plain(c.component), plain(c.subject), "[green]ok[/]" if c.ok else "[red]FAIL[/]", plain(c.detail)]
            for c in e.checks
        ]
        out.print(table(f"verify {e.stack}", ("component", "subject", "result", "detail"), rows, markup=True))
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
            err.print(terminal_safe(str(p)), markup=False, soft_wrap=True)
        err.print(f"[red]{len(exc.problems)} problem(s); nothing was written.[/]")
        raise typer.Exit(exc.exit_code) from None
    except UserError as exc:
        renderer.close()
        err.print("[bold red]error[/] ", end="")
        err.print(safe_lines(str(exc)), markup=False, soft_wrap=True)
        if exc.hint:
            err.print(
                f"  hint: {safe_lines(exc.hint)}", markup=False, soft_wrap=True
            )  # a command in it must paste whole
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
        err.print(terminal_safe(str(w)), markup=False, soft_wrap=True)
    envs = ", ".join(e.name for e in loaded.select(env))
    out.print(
        f"[green]ok[/] {plain(path)}: {plain(bp.metadata.name)} on {plain(bp.target.cloud)}/{plain(bp.target.region)}, "
        f"environments {plain(envs)}; components {', '.join(built) or 'none'}"
    )
