"""`atlantis` and `stacks`: the commands the CI templates (ci/, docs/ci.md) build on.

`register(app)` adds them to the main app (`scripts/cli.py`). They parse arguments, call the library
(`scripts/atlantis.py`) and print; machine-readable output goes to stdout or `--output-file`, untouched
by rich.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlops_blueprint.scripts.cli_options import BlueprintArg
from mlops_blueprint.scripts.render import err, plain, rendering

OutdirOpt = Annotated[
    Path, typer.Option("--output", "-o", help="Where `synth` writes the stacks (relative to the repository root).")
]


def atlantis(
    blueprint: BlueprintArg,
    output_file: Annotated[
        Optional[Path], typer.Option("--output-file", help="Write atlantis.yaml here instead of stdout.")
    ] = None,
    output: OutdirOpt = Path("cdktf.out"),
    when_modified: Annotated[
        list[str],
        typer.Option("--when-modified", help="Another repository path whose change plans every stack (repeatable)."),
    ] = [],  # noqa: B006 (typer never mutates it)
    apply_requirement: Annotated[
        list[str],
        typer.Option(
            "--apply-requirement",
            help="approved|mergeable|undiverged (repeatable; default: all three).",
            show_default=False,
        ),
    ] = [],  # noqa: B006
) -> None:
    """An Atlantis repo config (atlantis.yaml): one project per stack, a workflow that runs mlops-blueprint.

    Run it from the repository root: the paths in the file are relative to it."""
    from mlops_blueprint.scripts import atlantis as lib
    from mlops_blueprint.scripts import pipeline

    with rendering():
        loaded = pipeline.validate(blueprint)
        config = lib.atlantis_config(
            loaded,
            outdir=output,
            when_modified=tuple(when_modified),
            apply_requirements=tuple(apply_requirement) or lib.REQUIREMENTS,
        )
        root = Path.cwd()
        text = lib.to_yaml(
            config, lib.repo_path(blueprint, root, "the blueprint"), lib.repo_path(output, root, "the output folder")
        )
    if output_file is None:
        print(text, end="")
        return
    output_file.parent.mkdir(parents=True, exist_ok=True)
    output_file.write_text(text)
    err.print(f"wrote {plain(output_file)}: {len(config['projects'])} project(s)")


def stacks(
    blueprint: BlueprintArg,
    env: Annotated[Optional[str], typer.Option("--env", "-e", help="One environment (default: every one).")] = None,
    output: OutdirOpt = Path("cdktf.out"),
    format: Annotated[str, typer.Option("--format", help="table|json (json: a CI matrix).")] = "table",
) -> None:
    """The stack of each environment and the folder `synth` writes it to (JSON: a CI plan matrix)."""
    from mlops_blueprint.scripts import atlantis as lib
    from mlops_blueprint.scripts import pipeline

    with rendering():
        if format not in ("table", "json"):
            raise pipeline.BadOption(f"--format must be table or json, not {format!r}")
        rows = lib.stacks(pipeline.validate(blueprint, env), env, output)
    if format == "json":
        print(json.dumps([r.as_dict() for r in rows], separators=(",", ":")))
        return
    for r in rows:
        print(f"{r.env}\t{r.stack}\t{r.dir}")


def register(app: typer.Typer) -> None:
    """Add the commands to the main app (`scripts/cli.py`)."""
    for fn in (atlantis, stacks):
        app.command()(fn)
