"""Running terraform on a synthesized stack: mirror configuration, progress, plan summaries."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from mlops_blueprint.blueprints.errors import EXIT_DEPLOY, ToolMissing, UserError

MIRROR_ENV = "MLOPS_PROVIDER_MIRROR"
SENSITIVE = "(sensitive: read it with terraform output -raw)"

__all__ = [
    "MIRROR_ENV",
    "PlanSummary",
    "Terraform",
    "TerraformFailed",
    "TerraformInterrupted",
    "ToolMissing",
    "cli_config",
    "mirror_from_env",
    "terraform_binary",
]


class TerraformFailed(UserError):
    """terraform exited non-zero (exit 4). `tail`: its error blocks, which the message carries."""

    exit_code = EXIT_DEPLOY

    def __init__(
        self,
        stack: str,
        command: str,
        tail: str,
        directory: Path | None = None,
        env: dict[str, str] | None = None,
        orphans: list[str] | None = None,
    ):
        self.stack, self.command, self.tail = stack, command, tail
        # Addresses whose create failed because the object already exists: made by an earlier run that
        # died before it could record them (see `orphaned`), or someone else's object of the same name.
        self.orphans = orphans or []
        hint = None
        lock = re.search(r"ID:\s+([0-9a-f-]{36})", tail)
        if "Error acquiring the state lock" in tail:
            hint = (
                "another terraform run holds this environment's state lock (see the lock info above): wait for it "
                "and run again. If that run died, release the lock (and only then) with:\n    "
                + unlock_command(directory, lock.group(1) if lock else None, env or {})
            )
        elif "registry.terraform.io" in tail:
            hint = (
                "the provider registry is unreachable; on an offline machine point at a provider mirror with "
                "--provider-mirror DIR or MLOPS_PROVIDER_MIRROR (make uses /opt/tf-plugins when it exists)"
            )
        super().__init__(f"terraform {command} failed for {stack}:\n{tail}", hint=hint)


ALREADY_EXISTS = re.compile(r"EntityAlreadyExists|AlreadyExists|already exists|BucketAlreadyOwnedByYou")
ERROR_WITH = re.compile(r"^[│ ]*with ([\w.\-\[\]\"]+),\s*$")


def orphaned(lines: list[str]) -> list[str]:
    """The addresses of terraform's `Error:` blocks that say the object already exists (each block names
    its resource on a `with <address>,` line), in order, once each."""
    out: list[str] = []
    block: list[str] = []
    for line in [*lines, "Error: (end)"]:
        if line.lstrip("│ ").startswith("Error:"):
            if any(ALREADY_EXISTS.search(b) for b in block[:3]):
                addr = next((m.group(1) for b in block if (m := ERROR_WITH.match(b))), None)
                if addr and addr not in out:
                    out.append(addr)
            block = []
        block.append(line)
    return out


SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL", re.IGNORECASE)


def unlock_command(directory: Path | None, lock_id: str | None, env: dict[str, str]) -> str:
    """The exact `terraform force-unlock` for a stack folder, ready to paste. `env`: the variables the
    run gave terraform (the emulator's endpoint; empty on a real cloud, whose credentials are ambient).
    Credential values are never printed: they show as `x`, which only the emulator accepts."""
    import shlex

    shown = [
        f"{k}={'' if not v else 'x' if SECRET_NAME.search(k) else shlex.quote(v)}"
        for k, v in sorted(env.items())
        if k != "PATH"
    ]
    folder = shlex.quote(str(directory)) if directory else "<the stack folder>"
    return " ".join(
        [*shown, "terraform", f"-chdir={folder}", "force-unlock", lock_id or "<ID from the lock info above>"]
    )


class TerraformInterrupted(UserError):
    """The user interrupted terraform (Ctrl-C); it stopped gracefully (exit 130, as for SIGINT)."""

    exit_code = 130

    def __init__(self, stack: str, command: str, returncode: int | None, kept: list[str] | None = None):
        self.stack, self.command, self.returncode, self.kept = stack, command, returncode, kept or []
        stopped = "stopped gracefully" if returncode is not None else "was stopped"
        cut = (
            f"; {len(self.kept)} resource(s) whose creation it cut short are kept, for the next run to complete "
            f"({', '.join(self.kept[:5])}{', ...' if len(self.kept) > 5 else ''})"
            if self.kept
            else ""
        )
        super().__init__(
            f"interrupted: terraform {command} of {stack} {stopped}: what it finished is in the state and its "
            f"lock was released{cut}",
            hint="run the same command again: terraform continues from the state",
        )


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


# Every terraform this process runs, whichever thread runs it. Only the main thread receives a Ctrl-C;
# when it waits for environments planned in threads, `interrupt_running` hands each terraform the
# interrupt its own thread would have handed it.
_LIVE: set[subprocess.Popen] = set()
_SIGNALLED: dict[int, int] = {}  # pid -> interrupts handed over by interrupt_running
_LIVE_LOCK = threading.Lock()


def interrupt_running() -> int:
    """Hand every running terraform one interrupt (a second call, a second one: terraform then stops at
    once). Each finishes what is under way, saves its state and releases its lock; its `run` then raises
    TerraformInterrupted. Returns how many were interrupted."""
    with _LIVE_LOCK:
        live = [p for p in _LIVE if p.poll() is None]
        for p in live:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGINT)
            _SIGNALLED[p.pid] = _SIGNALLED.get(p.pid, 0) + 1
    return len(live)


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
        diagnose: Callable[[TerraformFailed], UserError | None] | None = None,
        gone: Callable[[], bool] | None = None,
    ):
        """`diagnose`: given a failure, a clearer error to raise instead (e.g. the emulator died), or None.
        `gone`: polled while terraform runs; once it says the target is gone, terraform is stopped."""
        self.diagnose = diagnose or (lambda failure: None)
        self.gone = gone
        self.plan_json: dict | None = None  # the last plan's `show -json`
        self.dir = Path(stack_dir).resolve()  # terraform runs inside it: every path handed over must be absolute
        self.stack = stack
        self.binary = terraform_binary()
        self.given_env = dict(env)  # what the run adds to the environment (shown in an unlock command)
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
                self._fail(self._failed(args[0], (proc.stderr or proc.stdout)[-4000:]))
            return proc
        lines: list[str] = []
        # terraform runs in a session of its own, so a Ctrl-C reaches only this process, which hands
        # terraform exactly one interrupt (a second Ctrl-C, a second one: terraform then stops at once,
        # as it does in a terminal). Its output is read to the end meanwhile: terraform finishes the
        # operations under way, saves the state and releases the lock; a closed pipe would kill it.
        interrupts = 0
        with subprocess.Popen(
            cmd,
            cwd=self.dir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,
        ) as p:
            assert p.stdout is not None
            with _LIVE_LOCK:
                _LIVE.add(p)
            stop_watching = self._watch(p)
            while True:
                try:
                    for line in p.stdout:
                        line = line.rstrip("\n")
                        lines.append(line)
                        self.on_line(line)
                    p.wait()
                    break
                except KeyboardInterrupt:
                    interrupts += 1
                    if p.poll() is None:
                        p.send_signal(signal.SIGINT)
            stop_watching.set()
            with _LIVE_LOCK:
                _LIVE.discard(p)
                interrupts += _SIGNALLED.pop(p.pid, 0)
        if interrupts:
            raise TerraformInterrupted(self.stack, args[0], p.returncode)
        if p.returncode not in ok_codes:
            failure = self._failed(args[0], "\n".join(_errors_only(lines))[-4000:])
            failure.orphans = orphaned(lines)
            self._fail(failure)
        return subprocess.CompletedProcess(cmd, p.returncode, "\n".join(lines), "")

    def _watch(self, p: subprocess.Popen, every: float = 2.0, grace: float = 20.0) -> threading.Event:
        """While terraform runs, poll `gone`; once the target is gone, interrupt terraform, and kill it
        (its session: the providers too) when it has not stopped after `grace` seconds."""
        stop = threading.Event()
        if self.gone is None:
            return stop
        gone = self.gone

        def watch() -> None:
            while not stop.wait(every):
                if gone():
                    with contextlib.suppress(ProcessLookupError):
                        p.send_signal(signal.SIGINT)
                    if not stop.wait(grace):
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(p.pid, signal.SIGKILL)
                    return

        threading.Thread(target=watch, name="terraform-watch", daemon=True).start()
        return stop

    def _failed(self, command: str, tail: str) -> TerraformFailed:
        return TerraformFailed(self.stack, command, tail, self.dir, self.given_env)

    def _fail(self, failure: TerraformFailed) -> NoReturn:
        better = self.diagnose(failure)
        if better is not None:
            raise better from None
        raise failure

    def init(self) -> None:
        self.run("init", "-input=false", "-no-color", "-reconfigure")

    def plan(self, out: str = "tfplan", destroy: bool = False, targets: tuple[str, ...] = ()) -> PlanSummary:
        args = ["plan", "-input=false", "-no-color", f"-out={out}", "-lock-timeout=60s"]
        if destroy:
            args.append("-destroy")
        args += [f"-target={t}" for t in targets]
        self.run(*args)
        self.plan_json = self.show_json(out)  # kept: the gate reads it next (one `show -json` per plan)
        return PlanSummary.from_plan_json(self.plan_json)

    def plan_refresh_only(self, out: str = "tfplan-refresh") -> dict:
        """A refresh-only plan: what changed outside Terraform (its `resource_drift`), nothing to apply."""
        self.run("plan", "-refresh-only", "-input=false", "-no-color", f"-out={out}", "-lock-timeout=60s")
        return self.show_json(out)

    def state_pull(self) -> dict | None:
        """The stack's current state as its backend holds it (`terraform state pull`), None if it has none."""
        out = self.run("state", "pull", capture=True).stdout.strip()
        return json.loads(out) if out else None

    def show_json(self, planfile: str = "tfplan") -> dict:
        return json.loads(self.run("show", "-json", planfile, capture=True).stdout)

    def apply(self, planfile: str = "tfplan") -> None:
        try:
            self.run("apply", "-input=false", "-no-color", "-auto-approve", "-lock-timeout=60s", planfile)
        except TerraformInterrupted as exc:
            raise TerraformInterrupted(exc.stack, exc.command, exc.returncode, self._keep_cut_short(planfile)) from None

    def _keep_cut_short(self, planfile: str) -> list[str]:
        """After an interrupted apply: the resources terraform tainted because the interrupt cut their
        creation short (tainted now, not in the plan's prior state) are untainted, so that the next run
        reads them back and completes them instead of replacing them (a replacement of a bucket or a key
        would rightly be refused by the data-loss guard). Best effort: nothing is kept on any error."""
        try:
            before = _tainted(self.show_json(planfile).get("prior_state", {}))
            after = _tainted(json.loads(self.run("show", "-json", capture=True).stdout or "{}"))
            kept = sorted(after - before)
            for address in kept:
                self.run("untaint", "-lock-timeout=60s", "-no-color", address, capture=True)
            return kept
        except (UserError, ValueError, KeyboardInterrupt):
            return []

    def import_(self, address: str, id: str) -> None:
        """Adopt an existing object into the state at `address` (`terraform import`)."""
        self.run("import", "-input=false", "-no-color", "-lock-timeout=60s", address, id, capture=True)

    def destroy(self) -> None:
        self.run("destroy", "-input=false", "-no-color", "-auto-approve", "-lock-timeout=60s")

    def outputs(self) -> dict:
        raw = json.loads(self.run("output", "-json", capture=True).stdout or "{}")
        # A sensitive output is never handed on: what reads these prints them (`mlops-blueprint outputs`).
        return {k: SENSITIVE if v.get("sensitive") else v.get("value") for k, v in raw.items()}


def _tainted(state: dict) -> set[str]:
    """Addresses of the tainted resources in a `terraform show -json` state (or a plan's prior_state)."""
    out: set[str] = set()
    stack = [state.get("values", {}).get("root_module", {})]
    while stack:
        module = stack.pop()
        out.update(r["address"] for r in module.get("resources", []) if r.get("tainted"))
        stack.extend(module.get("child_modules", []))
    return out


def _errors_only(lines: list[str]) -> list[str]:
    """The `Error:` blocks of terraform's output (all of it when there are none)."""
    out, keep = [], False
    for line in lines:
        if line.startswith("Error:") or line.startswith("│ Error:"):
            keep = True
        if keep:
            out.append(line)
    return out or lines[-40:]
