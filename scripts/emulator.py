"""The embedded AWS emulator's lifecycle: start (or reuse), status, stop.

The server is a detached process (see `scripts.emulator_server`) that outlives the command
that started it, so that `plan`, `verify` and `down` see the same world. Its pid and port
live in `$MLOPS_HOME/emulator.json` (default `~/.mlops-blueprint`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from mlops_blueprint.blueprints.errors import EXIT_TOOL, UserError

# Dummy keys (moto accepts any), distinctive so that a test can grep every output for them: they are
# handed to terraform and boto3 through the environment and must never be printed or written.
ACCESS_KEY = "AKIAMLOPSEMULATOR7Q4"
SECRET_KEY = "mlopsEmulatorDummySecret/7fQ2xK9vLp3RtY8"
ACCOUNT_ID = "123456789012"  # moto's account


class EmulatorError(UserError):
    """A user-facing problem with the emulator (port taken, failed to start, not running): exit 3."""

    exit_code = EXIT_TOOL


@dataclass(frozen=True)
class Emulator:
    pid: int
    port: int
    host: str = "127.0.0.1"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def aws_env(self, region: str) -> dict[str, str]:
        """Environment for terraform and boto3 so that every AWS call goes to the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PROFILE": "",
            "AWS_SESSION_TOKEN": "",
        }


def home() -> Path:
    return Path(os.environ.get("MLOPS_HOME", Path.home() / ".mlops-blueprint"))


def _state_file() -> Path:
    return home() / "emulator.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _healthy(endpoint: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=timeout) as resp:  # loopback only
            return resp.status == 200
    except OSError:
        return False


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _recorded() -> Emulator | None:
    """The emulator the state file names (running or not); a corrupt file is removed."""
    f = _state_file()
    if not f.exists():
        return None
    try:
        return Emulator(**json.loads(f.read_text()))
    except (ValueError, TypeError):
        f.unlink(missing_ok=True)
        return None


def status() -> Emulator | None:
    """The running emulator, if there is one and it answers."""
    emu = _recorded()
    if emu and _alive(emu.pid) and _healthy(emu.endpoint):
        return emu
    return None


def gone() -> bool:
    """The recorded emulator is no longer there: no record, its process ended (or is a zombie waiting to
    be reaped), or its port refuses connections. A slow answer (a busy machine) is not gone."""
    emu = _recorded()
    if emu is None or not _alive(emu.pid) or _zombie(emu.pid):
        return True
    try:
        socket.create_connection((emu.host, emu.port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def start(port: int | None = None, host: str = "127.0.0.1", wait: float = 30.0) -> tuple[Emulator, bool]:
    """Start the emulator, or reuse the running one. Returns (emulator, started_now)."""
    running = status()
    if running and (port is None or running.port == port):
        return running, False
    if running:
        raise EmulatorError(
            f"an emulator already runs on port {running.port}; "
            "stop it first (mlops-blueprint emulator stop) or omit --port"
        )
    if port is not None and not _port_free(host, port):
        raise EmulatorError(
            f"port {port} on {host} is already in use; choose another with --port, or omit it for a free one"
        )
    port = port or _free_port(host)
    home().mkdir(parents=True, exist_ok=True)
    log = open(home() / "emulator.log", "ab")
    project_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [project_root, os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_blueprint.scripts.emulator_server", "--port", str(port), "--host", host],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
        cwd=project_root,
    )
    emu = Emulator(pid=proc.pid, port=port, host=host)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmulatorError(f"the emulator exited at start (code {proc.returncode}); see {home() / 'emulator.log'}")
        if _healthy(emu.endpoint, timeout=0.5):
            _state_file().write_text(json.dumps(asdict(emu)))
            return emu, True
        time.sleep(0.2)
    proc.terminate()
    raise EmulatorError(
        f"the emulator did not answer on {emu.endpoint} within {wait:.0f}s; see {home() / 'emulator.log'}"
    )


def stop() -> Emulator | None:
    """Stop the running emulator (its state is lost). Returns what was stopped."""
    emu = _recorded()
    if emu is None:
        return None
    if _alive(emu.pid):
        os.kill(emu.pid, signal.SIGTERM)
        for _ in range(50):
            try:
                os.waitpid(emu.pid, os.WNOHANG)  # reap it when it is our own child (tests)
            except ChildProcessError:
                pass
            if not _alive(emu.pid):
                break
            time.sleep(0.1)
        else:
            os.kill(emu.pid, signal.SIGKILL)
    _state_file().unlink(missing_ok=True)
    return emu


def environment(emu: Emulator, region: str) -> dict[str, str]:
    """What terraform and the SDKs need to talk to the emulator instead of AWS."""
    return emu.aws_env(region)


def gaps() -> list[str]:
    """The shims that stand in for what moto lacks (docs/proof.md: what the emulator does not cover)."""
    from mlops_blueprint.scripts.emulator_shims import SHIMS

    return list(SHIMS)
