"""Entry point for the CDK Terrain CLI (`cdktn synth`, `cdktn deploy <stack>`), see cdktf.json.

The blueprint comes from MLOPS_BLUEPRINT (default: the starter), one environment from MLOPS_ENV
(default: all). MLOPS_LOCAL=1 targets the running embedded emulator: the stacks then carry its
endpoint and dummy keys (for the provider and the backend), the state bucket is created in it, and,
when MLOPS_PROVIDER_MIRROR names a provider mirror, each stack folder links it as Terraform's implied
local mirror (`terraform.d/plugins`), since cdktn runs terraform itself; a folder that terraform last
initialized with other backend settings (`up --local`, an emulator on another port) is re-initialized.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from mlops_blueprint.blueprints import load, registry
from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.stacks import build, finish
from mlops_blueprint.stacks.settings import DeploySettings


def local_settings(loaded) -> tuple[DeploySettings, Any, Any]:
    """Settings that point the stacks at the running emulator (a one-line error when there is none)."""
    cloud = registry.get(loaded.base.target.cloud)
    if cloud.emulator is None:
        raise UserError(f"MLOPS_LOCAL=1 is the embedded emulator; there is no emulator for {cloud.name}")
    emulator = cloud.load("emulator")
    emu = emulator.status()
    if emu is None:
        raise emulator.EmulatorError(
            "no emulator is running; start it with `mlops-blueprint emulator start` "
            "(or unset MLOPS_LOCAL to deploy to the cloud)"
        )
    env = emulator.environment(emu, loaded.base.target.region)
    base = DeploySettings.for_local(True)
    settings = DeploySettings(
        local=True,
        provider_constraint=base.provider_constraint,
        max_retries=base.max_retries,
        endpoint=emu.endpoint,
        access_key=env["AWS_ACCESS_KEY_ID"],
        secret_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    return settings, emu, cloud


def link_mirror(outdir: Path, stacks: list[str], mirror: str | None) -> None:
    """Terraform reads `terraform.d/plugins` in its working directory as an implied provider mirror;
    and cdktn runs `terraform providers lock`, which reads no mirror unless told, so the lock file is
    written here from the mirror first (cdktn then finds it up to date)."""
    import shutil
    import subprocess

    if not mirror:
        return
    for stack in stacks:
        folder = outdir / "stacks" / stack
        plugins = folder / "terraform.d" / "plugins"
        plugins.parent.mkdir(parents=True, exist_ok=True)
        if plugins.is_symlink() or plugins.exists():
            plugins.unlink()
        plugins.symlink_to(Path(mirror).resolve())
        terraform = shutil.which("terraform")
        if terraform:
            subprocess.run(
                [
                    terraform,
                    "providers",
                    "lock",
                    f"-fs-mirror={Path(mirror).resolve()}",
                    "-platform=linux_amd64",
                    "-no-color",
                ],
                cwd=folder,
                capture_output=True,
                check=False,
            )


def _clean(value: Any) -> Any:
    """A backend setting with its unset parts dropped (terraform records every attribute, null when unset)."""
    if isinstance(value, dict):
        kept = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    return value


def forget_changed_backend(folder: Path, say: Any = lambda message: None) -> bool:
    """When the backend settings terraform recorded in `folder` (`.terraform/terraform.tfstate`, written by
    its last `init`) differ from the stack's, forget the record, as `terraform init -reconfigure` does:
    cdktn runs a plain `terraform init`, which stops at "Backend configuration changed". That happens
    after `up --local` initialized the folder (it passes the emulator's endpoint in the environment, so
    its stacks carry none) and after the emulator restarted on another port. The state itself is in the
    backend, not in the record: nothing is lost, nothing is migrated. Returns whether it forgot one."""
    import json

    record = folder / ".terraform" / "terraform.tfstate"
    try:
        recorded = json.loads(record.read_text()).get("backend") or {}
        wanted = json.loads((folder / "cdk.tf.json").read_text()).get("terraform", {}).get("backend", {})
    except (OSError, ValueError):
        return False
    [(kind, config)] = wanted.items() if len(wanted) == 1 else [(None, None)]
    if recorded.get("type") == kind and _clean(recorded.get("config") or {}) == _clean(config):
        return False
    record.unlink()
    say(f"{folder.name}: its backend settings changed since terraform last ran there; it is re-initialized")
    return True


def main() -> None:
    from cdktn import App

    path = os.environ.get("MLOPS_BLUEPRINT", "blueprints/reference/starter.yaml")
    local = os.environ.get("MLOPS_LOCAL") == "1"
    try:
        loaded = load(path)
        envs = loaded.select(os.environ.get("MLOPS_ENV"))
        settings = DeploySettings()
        if local:
            settings, emu, cloud = local_settings(loaded)
            from mlops_blueprint.scripts.glue import Target

            target = Target(
                local=True,
                mirror=None,
                env=cloud.load("emulator").environment(emu, loaded.base.target.region),
                endpoint=emu.endpoint,
            )
            glue = cloud.load("glue")
            for e in envs:
                glue.bootstrap_state(e, target, lambda message: print(message, file=sys.stderr))
        app = App()
        # On the emulator there is no Kubernetes API server: the cluster stacks are left out, so that
        # `cdktn deploy/destroy <blueprint>-<env>` work alone (`up --local` validates and gates them).
        stacks = build(app, loaded, envs, settings, with_cluster=not local)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    app.synth()
    finish(app)  # the blueprint's text in Terraform's literal form (stacks/literal.py)
    if local:
        link_mirror(Path(app.outdir), stacks, os.environ.get("MLOPS_PROVIDER_MIRROR"))
        for stack in stacks:
            forget_changed_backend(Path(app.outdir) / "stacks" / stack, lambda m: print(m, file=sys.stderr))


if __name__ == "__main__":
    main()
