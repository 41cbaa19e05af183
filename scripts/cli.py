"""`mlops-blueprint`: a thin CLI over the pipeline library (`scripts/pipeline.py`).

It parses arguments, calls the library, and renders the library's events with rich. User errors
(`UserError`, which carries its exit code) print a plain message and no traceback. User text is
never read as rich markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mlops_blueprint.scripts import cli_blueprints, cli_ci, cli_review, pipeline
from mlops_blueprint.scripts.cli_options import (
    AllowOpt,
    BlueprintArg,
    EnvOpt,
    LocalOpt,
    MirrorOpt,
    OutputOpt,
    WorkOpt,
    report_alone_on_stdout,
)
from mlops_blueprint.scripts.render import err, out, plain, rendering, validated

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="An MLOps platform from one blueprint file: validate, synthesize, deploy, verify.",
)
emulator_app = typer.Typer(no_args_is_help=True, help="The embedded AWS emulator (moto server on loopback).")
app.add_typer(emulator_app, name="emulator")
cli_blueprints.register(app)  # outputs, cost, catalog, init
cli_review.register(app)  # review, diagram, drift
cli_ci.register(app)  # atlantis, stacks

SeverityOpt = Annotated[
    str, typer.Option("--min-severity", help="Lowest severity that fails the gate: critical|high|medium|low.")
]


@app.command()
def validate(blueprint: BlueprintArg, env: EnvOpt = None) -> None:
    """Validate a blueprint and every environment's overlay (no synth, no network)."""
    with rendering():
        validated(blueprint, pipeline.validate(blueprint, env), env)


@app.command()
def schema(output: Annotated[Path, typer.Option("--output", "-o")] = Path("blueprints/blueprint.schema.json")) -> None:
    """Write the blueprint JSON Schema (editors use it through the yaml-language-server modeline)."""
    with rendering():
        out.print(f"wrote {plain(pipeline.write_schema(output))}")


@app.command()
def synth(
    blueprint: BlueprintArg, env: EnvOpt = None, output: OutputOpt = Path("cdktf.out"), local: LocalOpt = False
) -> None:
    """Synthesize one Terraform stack per environment into OUTPUT/stacks/<blueprint>-<env>/cdk.tf.json."""
    with rendering() as renderer:
        pipeline.synth(pipeline.validate(blueprint, env), env, output, local, events=renderer)


@app.command()
def check(
    blueprint: BlueprintArg,
    env: EnvOpt = None,
    output: WorkOpt = None,
    plan_file: Annotated[
        Optional[Path], typer.Option("--plan", help="A `terraform show -json` plan for --env: adds the change rules.")
    ] = None,
    allow_destroy: AllowOpt = [],
    min_severity: SeverityOpt = "low",
    format: Annotated[
        Optional[str],
        typer.Option(
            "--format",
            help="json|markdown|sarif|junit: the report alone on stdout (progress on stderr), or --output-file.",
        ),
    ] = None,
    output_file: Annotated[
        Optional[Path], typer.Option("--output-file", help="Where the --format report is written.")
    ] = None,
) -> None:
    """The policy gate: blueprint rules, resource rules (own pack + checkov), and change rules on a plan.

    With --format and no --output-file, stdout carries the report alone (the progress and the gate
    tables go to stderr), so that `> gate.sarif` is a valid file."""
    with rendering() as renderer, report_alone_on_stdout(format is not None and output_file is None):
        outcome = pipeline.check(
            pipeline.validate(blueprint, env),
            env,
            output,
            plan=plan_file,
            allow_destroy=tuple(allow_destroy),
            min_severity=min_severity,
            report_format=format,
            events=renderer,
        )
    if outcome.rendered is not None and output_file:
        output_file.parent.mkdir(parents=True, exist_ok=True)
        output_file.write_text(outcome.rendered)
        err.print(f"wrote {format} report to {plain(output_file)}")
    elif outcome.rendered is not None:
        print(outcome.rendered)
    with rendering():
        outcome.raise_if_failed()


@app.command()
def plan(
    blueprint: BlueprintArg,
    env: EnvOpt = None,
    local: LocalOpt = False,
    provider_mirror: MirrorOpt = None,
    output: WorkOpt = None,
    allow_destroy: AllowOpt = [],
) -> None:
    """Plan every environment at once, gate each stack with its plan (the data-loss guard too); print what would change."""
    with rendering() as renderer:
        pipeline.plan(
            pipeline.validate(blueprint, env),
            env,
            local=local,
            mirror=provider_mirror,
            outdir=output,
            allow_destroy=tuple(allow_destroy),
            events=renderer,
        )


@app.command()
def up(
    blueprint: BlueprintArg,
    env: EnvOpt = None,
    local: LocalOpt = False,
    provider_mirror: MirrorOpt = None,
    port: Annotated[
        Optional[int], typer.Option(help="Emulator port when one is started (default: a free one).")
    ] = None,
    output: WorkOpt = None,
    allow_destroy: AllowOpt = [],
    skip_verify: Annotated[bool, typer.Option("--skip-verify", help="Do not run verify after apply.")] = False,
) -> None:
    """Deploy: synth, policy gate, state bootstrap, terraform init/plan, gate the plan, apply, then verify."""
    with rendering() as renderer:
        pipeline.up(
            pipeline.validate(blueprint, env),
            env,
            local=local,
            mirror=provider_mirror,
            port=port,
            outdir=output,
            allow_destroy=tuple(allow_destroy),
            verify=not skip_verify,
            events=renderer,
        )


@app.command()
def down(
    blueprint: BlueprintArg,
    env: EnvOpt = None,
    local: LocalOpt = False,
    provider_mirror: MirrorOpt = None,
    output: WorkOpt = None,
    keep_state: Annotated[bool, typer.Option("--keep-state", help="Keep the state bucket and lock table.")] = False,
) -> None:
    """Destroy each environment. Protected environments (protect_stateful) refuse, by design."""
    with rendering() as renderer:
        pipeline.down(
            pipeline.validate(blueprint, env),
            env,
            local=local,
            mirror=provider_mirror,
            outdir=output,
            keep_state=keep_state,
            events=renderer,
        )


@app.command()
def verify(blueprint: BlueprintArg, env: EnvOpt = None, local: LocalOpt = False) -> None:
    """Check through the cloud's SDK that what the blueprint describes exists with the promised settings."""
    with rendering() as renderer:
        pipeline.verify(pipeline.validate(blueprint, env), env, local=local, events=renderer)


@app.command()
def rollout(
    blueprint: BlueprintArg,
    endpoint: Annotated[
        str, typer.Option("--endpoint", help="The blueprint endpoint to roll out to.", show_default=False)
    ],
    image_tag: Annotated[
        str, typer.Option("--image-tag", help="Tag of the model's serving image in the registry.", show_default=False)
    ],
    env: Annotated[str, typer.Option("--env", "-e", help="The environment.", show_default=False)],
    traffic: Annotated[
        int, typer.Option("--traffic", help="Percent of traffic for the new version (100 promotes it).")
    ] = 10,
    artifact: Annotated[
        Optional[str],
        typer.Option("--artifact", help="Model artifact URI (default: the registry bucket's <model>/<tag>/)."),
    ] = None,
    local: LocalOpt = False,
) -> None:
    """Register a new model version and send a share of an endpoint's traffic to it (canary), or all of it."""
    with rendering() as renderer:
        pipeline.rollout(
            pipeline.validate(blueprint, env),
            env,
            endpoint,
            image_tag,
            traffic=traffic,
            artifact=artifact,
            local=local,
            events=renderer,
        )


@emulator_app.command("start")
def emulator_start(
    port: Annotated[Optional[int], typer.Option(help="Port on 127.0.0.1 (default: a free one).")] = None,
) -> None:
    """Start the embedded AWS (or report the running one)."""
    from mlops_blueprint.scripts import emulator

    with rendering():
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
    main()
