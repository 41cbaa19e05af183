"""`.ci/run` itself: its closing summary must never turn green runs into a failed CI.

Stop 17's CI passed `make test` and `make test-load` and still exited 1: the summary looked for
pytest's line in the last 5 lines of the log, but `make test` prints lint's log after pytest, so
`grep` found nothing and `set -o pipefail` ended the script. These tests run the script's summary part
(everything from `summary()` on) on logs shaped like the real ones.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI_RUN = ROOT / ".ci" / "run"

TEST_LOG = """\
........................................................................ [ 99%]
1191 passed, 1 xfailed, 472 warnings in 1400.21s (0:23:20)
--- lint and typecheck (build/lint.log) ---
mkdir -p build/typecheck && ln -sfn ../.. build/typecheck/mlops_blueprint
.venv/bin/mypy
Success: no issues found in 180 source files
.venv/bin/ruff check .
All checks passed!
.venv/bin/ruff format --check .
230 files already formatted
"""
LOAD_LOG = "tests/integration/test_load_cycles.py .\n1 passed, 1192 deselected, 472 warnings in 431.37s (0:07:11)\n"


def summary_part() -> str:
    text = CI_RUN.read_text()
    start = text.index("summary()")
    return "set -euo pipefail\n" + text[start:]


def run_summary(tmp_path: Path, test_log: str, load_log: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "ci-test.log").write_text(test_log)
    (tmp_path / "build" / "ci-load.log").write_text(load_log)
    return subprocess.run(["bash", "-c", summary_part()], cwd=tmp_path, capture_output=True, text=True, timeout=30)


def test_the_summary_finds_pytests_line_above_the_lint_log(tmp_path: Path) -> None:
    done = run_summary(tmp_path, TEST_LOG, LOAD_LOG)
    assert done.returncode == 0, done.stderr
    assert "make test: 1191 passed, 1 xfailed" in done.stdout
    assert "make test-load: 1 passed, 1192 deselected" in done.stdout
    assert done.stdout.rstrip().endswith("ci: 1192 passed, 0 failed")


@pytest.mark.parametrize("which", ["test", "load"])
def test_a_log_without_a_summary_does_not_fail_the_run(tmp_path: Path, which: str) -> None:
    done = run_summary(tmp_path, "" if which == "test" else TEST_LOG, "" if which == "load" else LOAD_LOG)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("failed")


def test_the_run_calls_the_readmes_test_command_and_fails_on_failure() -> None:
    text = CI_RUN.read_text()
    assert "set -euo pipefail" in text
    assert "make test 2>&1 | tee" in text  # pipefail: a failing `make test` ends the run non-zero
    assert "make test" in (ROOT / "README.md").read_text()
