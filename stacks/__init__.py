"""Stacks: one TerraformStack per environment. The only place providers and backends are made.

`synth` imports the provider bindings lazily, so that validating a blueprint never pays for them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlops_blueprint.blueprints import clouds
from mlops_blueprint.blueprints.loader import LoadedBlueprint, ResolvedEnv
from mlops_blueprint.stacks.settings import DeploySettings

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


class TargetNotAvailable(Exception):
    """The blueprint targets a cloud whose modules do not exist yet (a user error, not a bug)."""


@dataclass(frozen=True)
class SynthResult:
    env: str
    stack: str
    directory: Path  # holds cdk.tf.json

    @property
    def json_path(self) -> Path:
        return self.directory / "cdk.tf.json"


def stack_name(blueprint: str, env: str) -> str:
    return f"{blueprint}-{env}"


def require_modules(cloud: str) -> None:
    if cloud not in clouds.IMPLEMENTED_CLOUDS:
        raise TargetNotAvailable(
            f"target.cloud {cloud!r}: modules are not available yet for {cloud}; "
            f"available now: {', '.join(clouds.IMPLEMENTED_CLOUDS)}")


def build(app: object, loaded: LoadedBlueprint, envs: list[ResolvedEnv], settings: DeploySettings) -> list[str]:
    """Add one stack per environment to `app`. Returns the stack names."""
    cloud = loaded.base.target.cloud
    require_modules(cloud)
    if cloud == "gcp":
        if settings.local:
            raise TargetNotAvailable("--local is the embedded AWS emulator; there is no GCP emulator "
                                     "(synth, check and the glue's fakes cover GCP offline)")
        try:
            from mlops_blueprint.stacks.gcp import GcpEnvironmentStack as Stack
        except ImportError as exc:
            raise TargetNotAvailable(f"the GCP provider bindings are not installed ({exc.name}); "
                                     "install them with `pip install -e '.[gcp]'` (`make install` does)") from None
    else:
        from mlops_blueprint.stacks.aws import AwsEnvironmentStack as Stack

    names = []
    for env in envs:
        name = stack_name(loaded.name, env.name)
        Stack(app, name, env=env, settings=settings)
        names.append(name)
    return names


def synth(loaded: LoadedBlueprint, envs: list[ResolvedEnv], outdir: Path,
          settings: DeploySettings = DeploySettings()) -> list[SynthResult]:
    """Synthesize into `outdir/stacks/<stack>/cdk.tf.json`, all or nothing: stacks are written to a
    scratch folder first and moved in only when every one of them synthesized."""
    require_modules(loaded.base.target.cloud)  # before the bindings load
    from cdktn import App

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".synth-", dir=outdir))
    try:
        app = App(outdir=str(scratch), skip_validation=False)
        names = build(app, loaded, envs, settings)
        app.synth()
        results = []
        for env, name in zip(envs, names):
            dest = outdir / "stacks" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                # keep terraform's working state (.terraform, lock file) beside the new JSON
                shutil.copy2(scratch / "stacks" / name / "cdk.tf.json", dest / "cdk.tf.json")
            else:
                shutil.move(str(scratch / "stacks" / name), dest)
            results.append(SynthResult(env.name, name, dest))
        shutil.copy2(scratch / "manifest.json", outdir / "manifest.json")
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
