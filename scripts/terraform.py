"""Running terraform on a synthesized stack: mirror configuration, progress, plan summaries."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlops_blueprint.blueprints.errors import EXIT_DEPLOY, ToolMissing, UserError

MIRROR_ENV = "MLOPS_PROVIDER_MIRROR"

__all__ = [
    "MIRROR_ENV",
    "PlanSummary",
    "Terraform",
    "TerraformFailed",
    "ToolMissing",
    "cli_config",
    "mirror_from_env",
    "terraform_binary",
]


class TerraformFailed(UserError):
    """terraform exited non-zero (exit 4). `tail`: its error blocks, which the message carries."""

    exit_code = EXIT_DEPLOY

    def __init__(self, stack: str, command: str, tail: str):
        self.stack, self.command, self.tail = stack, command, tail
        hint = None
        lock = re.search(r"ID:\s+([0-9a-f-]{36})", tail)
        if "Error acquiring the state lock" in tail:
            hint = (
                "another terraform run holds this environment's state lock: wait for it and run again. If that run "
                "died, release the lock (and only then) with: terraform -chdir=<the stack folder> force-unlock "
                f"{lock.group(1) if lock else '<ID from the lock info above>'}"
            )
        elif "registry.terraform.io" in tail:
            hint = (
                "the provider registry is unreachable; on an offline machine point at a provider mirror with "
                "--provider-mirror DIR or MLOPS_PROVIDER_MIRROR (make uses /opt/tf-plugins when it exists)"
            )
        super().__init__(f"terraform {command} failed for {stack}:\n{tail}", hint=hint)


def terraform_binary() -> str:
    path = shutil.which("terraform")
    if path is None:
        raise ToolMissing(
            "terraform is not on PATH; install Terraform >= 1.6 "
            "(https://developer.hashicorp.com/terraform/install) and run again"
        )
    return path


def cli_config(workdir: Path, mirror: Path | None) -> Path | None:
    """A terraform CLI config that installs providers from `mirror` (a filesystem mirror directory).

    Without a mirror, terraform's normal download is used and the user's own CLI config is kept."""
    if mirror is None:
        return None
    if not (mirror / "registry.terraform.io").is_dir():
        raise ToolMissing(
            f"provider mirror {mirror} has no registry.terraform.io/ folder; "
            f"point {MIRROR_ENV} (or --provider-mirror) at a `terraform providers mirror` output"
        )
    providers = sorted(
        f"registry.terraform.io/{ns.name}/{p.name}"
        for ns in (mirror / "registry.terraform.io").iterdir()
        if ns.is_dir()
        for p in ns.iterdir()
        if p.is_dir()
    )
    inc = ", ".join(json.dumps(p) for p in providers)
    path = workdir / ".terraformrc"
    path.write_text(
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror))}\n    include = [{inc}]\n  }}\n"
        f"  direct {{\n    exclude = [{inc}]\n  }}\n}}\n"
    )
    return path


def mirror_from_env(explicit: str | None) -> Path | None:
    value = explicit or os.environ.get(MIRROR_ENV)
    return Path(value).resolve() if value else None


@dataclass
class PlanSummary:
    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    replace: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.replace or self.delete)

    def counts(self) -> str:
        return (
            f"{len(self.create)} to create, {len(self.update)} to update, "
            f"{len(self.replace)} to replace, {len(self.delete)} to destroy"
        )

    @classmethod
    def from_plan_json(cls, plan: dict) -> PlanSummary:
        s = cls()
        for rc in plan.get("resource_changes", []):
            actions = rc.get("change", {}).get("actions", [])
            addr = rc["address"]
            if actions == ["create"]:
                s.create.append(addr)
            elif actions == ["update"]:
                s.update.append(addr)
            elif actions == ["delete"]:
                s.delete.append(addr)
            elif "delete" in actions and "create" in actions:
                s.replace.append(addr)
        return s


class Terraform:
    """terraform in one stack directory, with a fixed environment."""

    def __init__(
        self,
        stack_dir: Path,
        *,
        stack: str,
        env: dict[str, str],
        mirror: Path | None,
        on_line: Callable[[str], None] | None = None,
    ):
        self.dir = Path(stack_dir).resolve()  # terraform runs inside it: every path handed over must be absolute
        self.stack = stack
        self.binary = terraform_binary()
        self.env = dict(os.environ, **env, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_INPUT="0")
        config = cli_config(self.dir, mirror)
        if config is not None:
            self.env["TF_CLI_CONFIG_FILE"] = str(config)
        elif not Path(self.env.get("TF_CLI_CONFIG_FILE", "/nonexistent")).exists():
            self.env.pop("TF_CLI_CONFIG_FILE", None)
        self.on_line = on_line or (lambda line: None)

    def run(self, *args: str, capture: bool = False, ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        cmd = [self.binary, *args]
        if capture:
            proc = subprocess.run(cmd, cwd=self.dir, env=self.env, capture_output=True, text=True)
            if proc.returncode not in ok_codes:
                raise TerraformFailed(self.stack, args[0], (proc.stderr or proc.stdout)[-4000:])
            return proc
        lines: list[str] = []
        with subprocess.Popen(
            cmd, cwd=self.dir, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        ) as p:
            assert p.stdout is not None
            for line in p.stdout:
                line = line.rstrip("\n")
                lines.append(line)
                self.on_line(line)
        if p.returncode not in ok_codes:
            raise TerraformFailed(self.stack, args[0], "\n".join(_errors_only(lines))[-4000:])
        return subprocess.CompletedProcess(cmd, p.returncode, "\n".join(lines), "")

    def init(self) -> None:
        self.run("init", "-input=false", "-no-color", "-reconfigure")

    def plan(self, out: str = "tfplan", destroy: bool = False) -> PlanSummary:
        args = ["plan", "-input=false", "-no-color", f"-out={out}", "-lock-timeout=60s"]
        if destroy:
            args.append("-destroy")
        self.run(*args)
        return PlanSummary.from_plan_json(self.show_json(out))

    def show_json(self, planfile: str = "tfplan") -> dict:
        return json.loads(self.run("show", "-json", planfile, capture=True).stdout)

    def apply(self, planfile: str = "tfplan") -> None:
        self.run("apply", "-input=false", "-no-color", "-auto-approve", "-lock-timeout=60s", planfile)

    def destroy(self) -> None:
        self.run("destroy", "-input=false", "-no-color", "-auto-approve", "-lock-timeout=60s")

    def outputs(self) -> dict:
        raw = json.loads(self.run("output", "-json", capture=True).stdout or "{}")
        return {k: v.get("value") for k, v in raw.items()}


def _errors_only(lines: list[str]) -> list[str]:
    """The `Error:` blocks of terraform's output (all of it when there are none)."""
    out, keep = [], False
    for line in lines:
        if line.startswith("Error:") or line.startswith("│ Error:"):
            keep = True
        if keep:
            out.append(line)
    return out or lines[-40:]
