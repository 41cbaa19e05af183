"""Real storage emulators for the state-backend tests, run as subprocesses on free loopback ports.

- `gcs.py`: gcp-storage-emulator (PyPI) behind a launcher that honours GCS generation preconditions,
  which Terraform's gcs backend locks with;
- `azurite.py`: Azurite's blob service (npm), installed into `.tools/azurite` on first use.

Each module offers a context manager that starts the emulator, waits for its port, yields how to reach
it and stops it afterwards; the tests wrap them in fixtures. Helpers shared by both live here.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, what: str, log: Path, timeout: float = 30.0) -> None:
    """Until a TCP connect succeeds; fail early, with the process's log, when it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{what} exited with code {proc.returncode} before listening on {HOST}:{port}:\n"
                f"{log.read_text(errors='replace')[-4000:]}"
            )
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    stop(proc)
    raise TimeoutError(f"{what} did not listen on {HOST}:{port} within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """Stop a process this helper started: terminate, then kill if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
