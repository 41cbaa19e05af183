"""`review`, `diagram` and `drift`: the commands for a pull request and a scheduled job.

`register(app)` adds them to the main app (`scripts/cli.py`). They parse arguments, call the library
(`scripts/review.py`, `scripts/diagram.py`, `scripts/drift.py`) and print; the progress goes to
stderr, the report to stdout or `--output-file`, untouched by rich.

Exit codes: review 0 may merge, 7 may not (a gate fails, a risky change is not allowed, a plan
failed); drift 0 none, 8 drift found; user errors 2, a missing tool 3.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlops_blueprint.scripts.cli_options import (
    BlueprintArg,
    EnvOpt,
    LocalOpt,
    MirrorOpt,
    OutputFileOpt,
    WorkOpt,
    report_alone_on_stdout,
)
from mlops_blueprint.scripts.events import Event
from mlops_blueprint.scripts.render import err, plain, rendering


def _emit(text: str, output_file: Path | None, what: str) -> None:
    if output_file is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return
    output_file.parent.mkdir(parents=True, exist_ok=True)
    output_file.write_text(text if text.endswith("\n") else text + "\n")
    err.print(f"wrote {what} to {plain(output_file)}")


def review(
    blueprint: BlueprintArg,
    env: EnvOpt = None,
    base: Annotated[
        Optional[str], typer.Option("--base", help="The blueprint before the change: a file or a git ref.")
    ] = None,
    plan_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--plan-dir", help="Read `terraform show -json` plans (<stack>.json or <env>.json) instead of planning."
        ),
    ] = None,
    local: LocalOpt = False,
    format: Annotated[str, typer.Option("--format", help="markdown|json.")] = "markdown",
    output_file: OutputFileOpt = None,
    allow_destroy: Annotated[
        list[str],
        typer.Option("--allow-destroy", help="Let the plan destroy or replace this stateful resource."),
    ] = [],  # noqa: B006 (typer never mutates it)
    provider_mirror: MirrorOpt = None,
    output: WorkOpt = None,
) -> None:
    """One pull-request comment: the blueprint diff, then per environment the risky changes, the changes
    by component, the policy gate, the cost delta, a diagram and the plan (exit 7: may not merge)."""
    from mlops_blueprint.scripts import pipeline
    from mlops_blueprint.scripts import review as lib

    with rendering() as renderer, report_alone_on_stdout(output_file is None):
        if format not in ("markdown", "json"):
            raise pipeline.BadOption(f"--format must be markdown or json, not {format!r}")
        result = lib.review(
            pipeline.validate(blueprint, env),
            base=base,
            env=env,
            plan_dir=plan_dir,
            local=local,
            mirror=provider_mirror,
            allow_destroy=tuple(allow_destroy),
            events=_stderr_only(renderer),
            outdir=output,
        )
    _emit(lib.to_markdown(result) if format == "markdown" else lib.to_json(result), output_file, f"the {format} review")
    err.print(("[green]" if result.may_merge else "[red]") + plain(result.verdict) + "[/]")
    raise typer.Exit(result.exit_code)


def _stderr_only(renderer: Callable[[Event], None]) -> Callable[[Event], None]:
    """Progress only (spinners, notes on stderr): the gate tables and plan summaries are in the review."""
    from mlops_blueprint.scripts import events as ev

    def sink(e: Event) -> None:
        if isinstance(e, ev.StepStarted | ev.StepFinished | ev.StepLine | ev.Note | ev.EmulatorReady):
            renderer(e)

    return sink


def diagram(blueprint: BlueprintArg, env: EnvOpt = None, output_file: OutputFileOpt = None) -> None:
    """The platform of one environment as a Mermaid flowchart (components, personas, data flows)."""
    from mlops_blueprint.scripts import pipeline
    from mlops_blueprint.scripts.diagram import mermaid

    with rendering():
        loaded = pipeline.validate(blueprint, env)
        e = loaded.select(env)[0] if env else next(iter(loaded.envs.values()))
        if env is None and len(loaded.envs) > 1:
            err.print(f"diagram of {plain(e.name)} (choose another with --env)")
    _emit(mermaid(e.blueprint, e.name), output_file, "the diagram")


def drift(
    blueprint: BlueprintArg,
    env: EnvOpt = None,
    local: LocalOpt = False,
    format: Annotated[str, typer.Option("--format", help="text|json.")] = "text",
    provider_mirror: MirrorOpt = None,
    output: WorkOpt = None,
) -> None:
    """What was changed outside Terraform, by blueprint component (refresh-only plan; exit 8 on drift)."""
    import json

    from mlops_blueprint.scripts import drift as lib
    from mlops_blueprint.scripts import pipeline

    with rendering() as renderer, report_alone_on_stdout(format == "json"):
        if format not in ("text", "json"):
            raise pipeline.BadOption(f"--format must be text or json, not {format!r}")
        found = lib.drift(
            pipeline.validate(blueprint, env),
            env,
            local=local,
            mirror=provider_mirror,
            outdir=output,
            events=_stderr_only(renderer),
        )
    print(json.dumps(lib.as_dict(found), indent=2) if format == "json" else "\n".join(lib.lines(found)))
    if any(d.items for d in found.values()):
        raise typer.Exit(lib.EXIT_DRIFT)


def register(app: typer.Typer) -> None:
    """Add the commands to the main app (`scripts/cli.py`)."""
    for fn in (review, diagram, drift):
        app.command()(fn)
