"""The arguments and options every command file shares (scripts/cli.py and its `cli_*.py` neighbours),
written once so that `--env` or `--provider-mirror` means the same in every command."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer

BlueprintArg = Annotated[Path, typer.Argument(help="The blueprint YAML file.", show_default=False)]
EnvOpt = Annotated[Optional[str], typer.Option("--env", "-e", help="One environment (default: every environment).")]
LocalOpt = Annotated[bool, typer.Option("--local", help="Run against the embedded AWS emulator.")]
MirrorOpt = Annotated[
    Optional[str],
    typer.Option(
        "--provider-mirror",
        help="Filesystem mirror of terraform providers (default: $MLOPS_PROVIDER_MIRROR, else download).",
    ),
]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Where stacks are written.")]
# The working folder of the commands that synthesize on their way (check, plan, up, down, review, drift,
# outputs): by default under the tool's home, never the current directory (scripts/pipeline.py work_dir).
WorkOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--output",
        "-o",
        help="Where stacks are synthesized and terraform runs (default: $MLOPS_HOME/out/<blueprint>, "
        "MLOPS_HOME defaulting to ~/.mlops-blueprint).",
        show_default=False,
    ),
]
OutputFileOpt = Annotated[
    Optional[Path], typer.Option("--output-file", help="Write the report here instead of stdout.", show_default=False)
]
AllowOpt = Annotated[
    list[str],
    typer.Option(
        "--allow-destroy",
        help="Let the plan destroy or replace this stateful resource (address, component.name or component).",
    ),
]


@contextlib.contextmanager
def report_alone_on_stdout(machine: bool) -> Iterator[None]:
    """While a command whose machine-format report goes to stdout runs, everything else it shows
    (progress, gate tables, notes) goes to stderr, so that `> report.sarif` holds the report alone.

    rich's consoles look `sys.stdout` up at each print, so redirecting it moves the rendering too;
    the report is printed after the block, on the real stdout."""
    if not machine:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield
