"""A real MLflow tracking server (tracking + model registry) as a subprocess on a free loopback port.

Not an emulator: the `mlflow server` of the installed MLflow (3.x), with a SQLite backend store and a
local artifact root in a temporary directory, so the on-prem glue's registry calls meet the same REST
API and store the platform's in-cluster MLflow runs. Needs the full `mlflow` package (the server's
FastAPI/uvicorn, Flask, SQLAlchemy and alembic), not `mlflow-skinny`.

Two settings keep it small and quiet:
- `--allowed-hosts 127.0.0.1:<port>,localhost:<port>`: MLflow 3's host-header middleware, allowing
  exactly the loopback address the tests use (nothing is disabled);
- `MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`: no background job runner (its huey consumers are not
  needed by the registry and would be half a dozen more processes).

The server forks uvicorn workers, so it runs in a session of its own and is stopped as a process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

STARTUP_TIMEOUT = 120.0  # s; a cold start (imports, schema migration) takes about 20 s


def available() -> bool:
    """The full MLflow (with its server), not just mlflow-skinny."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("mlflow.server", "flask", "sqlalchemy", "uvicorn"))


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop_group(proc: subprocess.Popen) -> None:
    """Stop the server and the workers it forked (its own process group), terminate then kill."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@contextlib.contextmanager
def mlflow_server(workdir: Path) -> Iterator[str]:
    """Start `mlflow server` on a free loopback port with its store in `workdir`; wait until /health
    answers; yield the tracking URI (`http://127.0.0.1:<port>`); stop it (and its workers) afterwards."""
    from tests.emulators import HOST, free_port

    port = free_port()
    url = f"http://{HOST}:{port}"
    log = workdir / "mlflow-server.log"
    artifacts = workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(var, None)
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--default-artifact-root",
        str(artifacts),
        "--allowed-hosts",
        f"{HOST}:{port},localhost:{port}",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with code {proc.returncode} before answering on {url}:\n"
                    f"{log.read_text(errors='replace')[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"mlflow server did not answer {url}/health within {STARTUP_TIMEOUT:.0f} s:\n"
                    f"{log.read_text(errors='replace')[-4000:]}"
                )
            time.sleep(0.25)
        yield url
    finally:
        _stop_group(proc)
