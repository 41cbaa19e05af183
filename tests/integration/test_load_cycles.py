"""Three `up`/`down` cycles of the starter's dev environment on the emulator while a CPU burner runs on
every core (issue 14, part 2: "a busy machine").

Under load, requests time out and get retried; a retried create whose first attempt had already
succeeded used to fail the deploy with "already exists" (seen once as "Glue Crawler already exists").
Each cycle here is: `up` (which verifies: every check passes) -> `down` -> nothing of the platform
remains in the emulator (KMS keys wait out their deletion window, as on AWS).

Marked `load` (and `integration`): too slow for `make test`; `make test-load` runs it, and `.ci/run`
runs that after `make test`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.integration.run import STARTER, cli
from tests.integration.test_faults import leftovers

pytestmark = [pytest.mark.integration, pytest.mark.load]
CYCLES = 3
ALL_PASSED = re.compile(r"\b(\d{2,})/\1 checks passed")
BURN_SECONDS = 3600  # the burners stop by themselves after this, should the fixture never get to end them
# A busy loop that stops by itself; one per core.
BURNER = f"import time\nend = time.monotonic() + {BURN_SECONDS}\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture
def cpu_burners():
    """One busy process per core (at the same priority as everything else), ended when the test ends."""
    procs = [
        subprocess.Popen([sys.executable, "-c", BURNER], start_new_session=True) for _ in range(os.cpu_count() or 2)
    ]
    time.sleep(1)
    assert all(p.poll() is None for p in procs), "a CPU burner did not start"
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def busy_seconds(pid: int) -> float:
    """CPU seconds a process has used so far (utime + stime from /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_three_up_down_cycles_under_cpu_load(emulator, emulator_home, aws, tmp_path, cpu_burners):
    out = tmp_path / "cdktf.out"
    timings = []
    for cycle in range(1, CYCLES + 1):
        started = time.monotonic()
        rc, log = cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home, timeout=1800)
        assert rc == 0, f"cycle {cycle}: up failed under load:\n{log}"
        assert re.search(r"starter-dev: [1-9]\d* to create, 0 to update, 0 to replace, 0 to destroy", log), log
        # every check `verify` makes passed (their number grows with the platform: 23 and more)
        assert ALL_PASSED.search(log), f"cycle {cycle}: verify did not pass under load:\n{log}"
        up_done = time.monotonic()
        rc, log = cli("down", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home, timeout=1800)
        assert rc == 0, f"cycle {cycle}: down failed under load:\n{log}"
        assert "destroyed starter-dev" in log, log
        assert leftovers(aws) == {}, f"cycle {cycle}: resources remain after down"
        timings.append((up_done - started, time.monotonic() - up_done))
    # The burners really burned: each used most of a core over the cycles (not merely started).
    elapsed = sum(u + d for u, d in timings)
    assert all(busy_seconds(p.pid) > 0.15 * elapsed for p in cpu_burners), [busy_seconds(p.pid) for p in cpu_burners]
    print("load cycles (up s, down s):", [(round(u), round(d)) for u, d in timings])
