"""What the integration tests share: the CLI run as a user runs it, in a process of its own with its
own MLOPS_HOME, no colour and wide lines (so that a message is one line to search)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

STARTER = ROOT / "blueprints/reference/starter.yaml"
COMMAND = [sys.executable, "-m", "mlops_blueprint.scripts.cli"]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    return dict(os.environ, MLOPS_HOME=str(home), NO_COLOR="1", COLUMNS="200", **extra)


def run_cli(*args: object, home: Path, timeout: float = 1200, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(home, **extra),
        timeout=timeout,
    )


def cli(*args: object, home: Path, timeout: float = 1200, **extra: str) -> tuple[int, str]:
    """The exit code and stdout and stderr together."""
    p = run_cli(*args, home=home, timeout=timeout, **extra)
    return p.returncode, p.stdout + p.stderr


def cli_split(*args: object, home: Path) -> tuple[int, str, str]:
    """The exit code, stdout and stderr apart (for output meant for a pipe, like JSON)."""
    p = run_cli(*args, home=home)
    return p.returncode, p.stdout, p.stderr


def start_cli(*args: object, home: Path, log: Path) -> subprocess.Popen:
    """The CLI in a session of its own, as from a terminal: a signal to its group is a Ctrl-C."""
    return subprocess.Popen(
        [*COMMAND, *map(str, args)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=cli_env(home),
        start_new_session=True,
        preexec_fn=sigint_default,  # a Ctrl-C must reach it even when these tests started with SIGINT ignored
    )


def sigint_default() -> None:
    """In the child, before exec: SIGINT back to its default. A background job of a non-interactive
    shell starts with SIGINT ignored, and an ignored signal stays ignored across exec."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
