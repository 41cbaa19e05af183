"""mlops_blueprint: an enterprise MLOps platform from one blueprint file.

The public API (the CLI, `mlops-blueprint`, is a thin layer over the same functions):

    import mlops_blueprint as mb

    loaded = mb.load("blueprints/reference/starter.yaml")   # or mb.loads(yaml_text), mb.from_dict(data)
    results = mb.synth(loaded, env="dev", outdir="cdktf.out")
    outcome = mb.check(loaded, env="dev")                   # the policy gate; outcome.ok, outcome.reports
    mb.pipeline.up(loaded, env="dev", local=True, events=print)

    # your own cdktn app: one environment of a blueprint as a stack
    from cdktn import App
    app = App()
    mb.add_stacks(app, loaded, env="dev")
    app.synth()
    mb.finish_stacks(app)   # the blueprint's text in Terraform's literal form (`${` as `$${`)

Errors a user can fix are `mb.UserError` (with `.exit_code`); a blueprint's are `mb.BlueprintError`,
whose `.problems` carry file, line, column and field. Importing this package loads no provider
bindings and no cloud SDK: those load when a cloud's stack or glue is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_blueprint.blueprints import BlueprintError, LoadedBlueprint, ResolvedEnv, from_dict, load, loads
from mlops_blueprint.blueprints.errors import UserError

if TYPE_CHECKING:
    from mlops_blueprint.scripts import pipeline

__all__ = [
    "BlueprintError",
    "LoadedBlueprint",
    "ResolvedEnv",
    "UserError",
    "add_stacks",
    "check",
    "finish_stacks",
    "from_dict",
    "load",
    "loads",
    "pipeline",
    "synth",
]


def synth(loaded: LoadedBlueprint, env: str | None = None, outdir: Any = "cdktf.out", local: bool = False) -> list:
    """One Terraform stack per environment into `outdir/stacks/<name>-<env>/cdk.tf.json`."""
    from mlops_blueprint.scripts import pipeline

    return pipeline.synth(loaded, env, outdir, local)


def check(loaded: LoadedBlueprint, env: str | None = None, outdir: Any = None, **kwargs: Any) -> Any:
    """The policy gate (see `pipeline.check`): returns a CheckOutcome with `.ok` and `.reports`. The stacks
    go to `outdir` (default: `pipeline.work_dir(loaded)`, under $MLOPS_HOME, not the current directory)."""
    from mlops_blueprint.scripts import pipeline

    return pipeline.check(loaded, env, outdir, **kwargs)


def add_stacks(app: Any, loaded: LoadedBlueprint, env: str | None = None, local: bool = False) -> list[str]:
    """Add the blueprint's stacks (one per environment, or just `env`) to your own cdktn App. After
    `app.synth()`, call `finish_stacks(app)`: it writes the blueprint's text in Terraform's literal form
    (without it, a `${` in the blueprint's text stays a sentinel word: text, never a template)."""
    from mlops_blueprint.stacks import build
    from mlops_blueprint.stacks.settings import DeploySettings

    return build(app, loaded, loaded.select(env), DeploySettings.for_local(local))


def finish_stacks(app: Any) -> list[str]:
    """After `app.synth()` of an App given to `add_stacks`: see `stacks.finish`."""
    from mlops_blueprint.stacks import finish

    return finish(app)


def __getattr__(name: str) -> Any:
    if name == "pipeline":
        from mlops_blueprint.scripts import pipeline

        return pipeline
    raise AttributeError(name)
