"""No secret value ever appears in what the tool prints or writes (issue 14, part 3).

The whole local flow (up, verify, rollout, down) and every report format of `check` run with tokens in
the environment; then every byte the CLI printed, every report, every file under the output folder
(the stacks, plans and terraform's own files, except the provider binaries) and the tool's home
(the emulator's log) are searched for the emulator's keys and for those tokens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_blueprint.scripts.emulator import ACCESS_KEY, SECRET_KEY
from tests.conftest import ROOT

pytestmark = pytest.mark.integration
STARTER = ROOT / "blueprints/reference/starter.yaml"
TOKENS = {
    "GITHUB_TOKEN": "ghp_" + "Zq7RkD2mXw9LpT4vNc8BfY3hJs6GaE1uQo5i",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEJr//////////wEaDMlopsSessionTok3nZ9q",
    "ARM_CLIENT_SECRET": "azSecret~9Kq2Lm7Xv4Pt8Rw1Zy6Nb3Hc5Jd0Fg",
}
SECRETS = {"emulator access key": ACCESS_KEY, "emulator secret key": SECRET_KEY, **TOKENS}


def run(*args, home: Path) -> str:
    p = subprocess.run(
        [sys.executable, "-m", "mlops_blueprint.scripts.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, MLOPS_HOME=str(home), NO_COLOR="1", COLUMNS="200", **TOKENS),
        timeout=1200,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout + p.stderr


def files_under(root: Path):
    for path in root.rglob("*"):
        if path.is_file() and "providers" not in path.relative_to(root).parts:
            yield path


def test_no_secret_in_any_output_report_or_file(emulator, emulator_home, tmp_path):
    assert len(SECRET_KEY) == 40 and len(ACCESS_KEY) == 20  # long and distinctive: a grep cannot miss them
    out, reports = tmp_path / "cdktf.out", tmp_path / "reports"
    reports.mkdir()
    printed = [
        run("validate", STARTER, home=emulator_home),
        run("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home),
        run("verify", STARTER, "--env", "dev", "--local", home=emulator_home),
        run(
            "rollout",
            STARTER,
            "--env",
            "dev",
            "--endpoint",
            "fraud-api",
            "--image-tag",
            "v2",
            "--local",
            home=emulator_home,
        ),
        run("plan", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home),
        run("check", STARTER, "--env", "dev", "--output", out, "--format", "json", home=emulator_home),
    ]
    for fmt in ("json", "markdown", "sarif", "junit"):
        printed.append(
            run(
                "check",
                STARTER,
                "--env",
                "dev",
                "--output",
                out,
                "--format",
                fmt,
                "--output-file",
                reports / f"report.{fmt}",
                home=emulator_home,
            )
        )
    printed.append(run("down", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home))

    assert "23/23 checks passed" in printed[1] and "primary 90%, canary 10%" in printed[3], printed
    written = {p: p.read_bytes() for root in (reports, out, emulator_home) for p in files_under(root)}
    assert any(p.suffix == ".sarif" for p in written) and any(p.name == "cdk.tf.json" for p in written)
    assert any(p.name == "emulator.log" for p in written)
    leaks = [
        f"{what} in {where}"
        for what, value in SECRETS.items()
        for where, text in [(f"output of command #{i}", t.encode()) for i, t in enumerate(printed)]
        + [(str(p), b) for p, b in written.items()]
        if value.encode() in text
    ]
    assert leaks == []
