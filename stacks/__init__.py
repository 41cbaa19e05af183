"""Stacks: one TerraformStack per environment. The only place providers and backends are made.

`synth` imports the provider bindings lazily, so that validating a blueprint never pays for them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.errors import TargetNotAvailable
from mlops_blueprint.blueprints.loader import LoadedBlueprint, ResolvedEnv
from mlops_blueprint.stacks.literal import LiteralText
from mlops_blueprint.stacks.settings import DeploySettings

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


@dataclass(frozen=True)
class SynthResult:
    env: str
    stack: str
    directory: Path  # holds cdk.tf.json
    # The environment's cluster stack (`<blueprint>-<env>-cluster`), when its cloud has one and the
    # blueprint has a cluster: applied after this stack, destroyed before it.
    cluster: SynthResult | None = None

    @property
    def json_path(self) -> Path:
        return self.directory / "cdk.tf.json"


def stack_name(blueprint: str, env: str) -> str:
    return f"{blueprint}-{env}"


def cluster_stack_name(blueprint: str, env: str) -> str:
    return f"{blueprint}-{env}-cluster"


def cluster_stack_class(loaded: LoadedBlueprint, env: ResolvedEnv) -> type | None:
    """The cloud's cluster stack class, when it has one and the environment has a cluster (training)."""
    cloud = registry.get(loaded.base.target.cloud)
    if cloud.cluster_stack is None or env.blueprint.components.training is None:
        return None
    return cloud.load("cluster_stack")


def stack_class(loaded: LoadedBlueprint, settings: DeploySettings) -> type:
    """The target cloud's TerraformStack class (its provider bindings load here, not before)."""
    cloud = registry.get(loaded.base.target.cloud)
    if settings.local and cloud.emulator is None:
        raise TargetNotAvailable(
            f"--local is the embedded emulator; there is no emulator for {cloud.name} ({cloud.no_emulator_hint})"
        )
    try:
        return cloud.load("stack")
    except ImportError as exc:
        raise TargetNotAvailable(
            f"the {cloud.title} provider bindings are not installed ({exc.name}); install them with "
            f"`pip install -e '.[{cloud.name}]'` (`make install` does)"
        ) from None


# The Terraform the stacks need: 1.10 for S3-native state locking (the S3 lockfile), 1.11 for the
# write-only arguments some providers offer. cdktn validates the stacks against this.
TARGET_VERSIONS = {"terraform": ">=1.10.0", "opentofu": ">=1.10.0"}


def build(
    app: object, loaded: LoadedBlueprint, envs: list[ResolvedEnv], settings: DeploySettings, with_cluster: bool = True
) -> list[str]:
    """Add one stack per environment to `app`, and after it the environment's cluster stack when there is
    one and `with_cluster` (it depends on the cloud stack: cdktn deploys them in that order, and destroys
    a cloud stack only together with its cluster stack). Returns the stack names."""
    stack = stack_class(loaded, settings)
    # Blueprint text is data (stacks/literal.py): each stack sees its environment with every `${`, `%{`,
    # `#{` and `&{` of the blueprint's text replaced by a sentinel; `finish(app)` writes Terraform's
    # literal form of it once the app has synthesized.
    text = LiteralText.of(envs)
    built: list[str] = []
    app._mlops_literal = [*getattr(app, "_mlops_literal", []), (text, built)]  # type: ignore[attr-defined]
    node = app.node  # type: ignore[attr-defined]
    if node.try_get_context("targetVersions") is None and not node.children:
        node.set_context("targetVersions", TARGET_VERSIONS)
    names = []
    for raw in envs:
        env = text.env(raw)
        name = stack_name(loaded.name, env.name)
        cloud_stack = stack(app, name, env=env, settings=settings)
        record(cloud_stack, loaded, env, "cloud")
        names.append(name)
        cluster = cluster_stack_class(loaded, raw) if with_cluster else None
        if cluster is not None:
            cname = cluster_stack_name(loaded.name, env.name)
            cluster_stack = cluster(app, cname, env=env, settings=settings)
            cluster_stack.add_dependency(cloud_stack)
            record(cluster_stack, loaded, env, "cluster")
            names.append(cname)
    built.extend(names)
    return names


METADATA_KEY = "mlops_blueprint"  # under the stack document's `//`, which Terraform ignores


def record(stack: object, loaded: LoadedBlueprint, env: ResolvedEnv, layer: str) -> None:
    """Write down what a stack was made for, in its `//` metadata (`//.mlops_blueprint`): the blueprint,
    the environment, the cloud and the layer (`cloud` or `cluster`). The policy gate and the rules read
    these (`registry.cloud_of_doc`) instead of guessing them from the provider blocks."""
    stack.add_override(  # type: ignore[attr-defined]
        f"//.{METADATA_KEY}",
        {
            "format": 1,
            "blueprint": loaded.name,
            "environment": env.name,
            "cloud": loaded.base.target.cloud,
            "layer": layer,
        },
    )


def finish(app: object) -> list[str]:
    """After `app.synth()`: each stack `build` added gets Terraform's literal form of the blueprint text
    that `build` escaped (stacks/literal.py). Returns the stacks whose JSON changed. Skipping it cannot
    make text code (the sentinels are plain letters), only leave them in the text."""
    outdir = Path(app.outdir)  # type: ignore[attr-defined]
    built: list[tuple[LiteralText, list[str]]] = getattr(app, "_mlops_literal", [])
    return [n for text, names in built for n in names if text.finish(outdir / "stacks" / n)]


def synth(
    loaded: LoadedBlueprint, envs: list[ResolvedEnv], outdir: Path, settings: DeploySettings = DeploySettings()
) -> list[SynthResult]:
    """`_synth` behind the content-hash cache (stacks/cache.py; MLOPS_NO_CACHE=1 turns it off): an
    unchanged blueprint, package and toolchain restore every stack folder without the bindings' import."""
    from mlops_blueprint.stacks import cache

    usable = not (settings.local and registry.get(loaded.base.target.cloud).emulator is None)
    return cache.synth(loaded, envs, Path(outdir), settings, lambda: _synth(loaded, envs, outdir, settings), usable)


def _synth(
    loaded: LoadedBlueprint, envs: list[ResolvedEnv], outdir: Path, settings: DeploySettings = DeploySettings()
) -> list[SynthResult]:
    """Synthesize into `outdir/stacks/<stack>/cdk.tf.json`, all or nothing: stacks are written to a
    scratch folder first and moved in only when every one of them synthesized."""
    stack_class(loaded, settings)  # a missing target or bindings fails before anything is written
    from cdktn import App

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".synth-", dir=outdir))
    try:
        app = App(outdir=str(scratch), skip_validation=False)
        names = build(app, loaded, envs, settings)
        app.synth()
        finish(app)
        results = []
        for env in envs:
            name, cname = stack_name(loaded.name, env.name), cluster_stack_name(loaded.name, env.name)
            cluster = SynthResult(env.name, cname, _move(scratch, outdir, cname)) if cname in names else None
            results.append(SynthResult(env.name, name, _move(scratch, outdir, name), cluster))
        shutil.copy2(scratch / "manifest.json", outdir / "manifest.json")
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _move(scratch: Path, outdir: Path, name: str) -> Path:
    """Move one synthesized stack folder from `scratch` into `outdir/stacks/<name>`."""
    dest = outdir / "stacks" / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        # keep terraform's working state (.terraform, lock file) beside the new JSON
        shutil.copy2(scratch / "stacks" / name / "cdk.tf.json", dest / "cdk.tf.json")
    else:
        shutil.move(str(scratch / "stacks" / name), dest)
    return dest
