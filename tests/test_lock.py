"""The hash-pinned locks that `make install`, `make install-test` and the checkov virtualenv install from
(requirements/*.lock) cover what pyproject.toml asks for.

After any change to pyproject.toml's dependencies or to requirements/*.in, run `make lock`: these tests
fail until the locks pin a version of every requirement that satisfies its specifier.
"""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

REQ = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def makefile_var(name: str) -> str:
    m = re.search(rf"^{name}\s*:=\s*(.*)$", (ROOT / "Makefile").read_text(), flags=re.M)
    assert m, f"the Makefile sets {name}"
    return m.group(1).strip()


def extras(var: str) -> list[str]:
    """A Makefile extras list, with `$(INSTALL_EXTRAS)` expanded."""
    words = makefile_var(var).split()
    return [x for w in words for x in (extras("INSTALL_EXTRAS") if w == "$(INSTALL_EXTRAS)" else [w])]


def pins(lock: str) -> dict[str, str]:
    """name -> version of every package in a lock, each checked to carry at least one sha256 hash."""
    text = (REQ / lock).read_text()
    assert "make lock" in text.splitlines()[1], f"{lock} names the command that regenerates it"
    out: dict[str, str] = {}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    for block in blocks:
        m = PIN.match(block)
        if not m:
            assert block.lstrip().startswith("#"), f"{lock}: an unpinned entry: {block[:80]!r}"
            continue
        assert "--hash=sha256:" in block, f"{lock}: {m.group(1)} has no hash"
        out[canonicalize_name(m.group(1))] = m.group(2)
    return out


def wanted(extras_: list[str]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in extras_:
        assert extra in project["optional-dependencies"], f"the Makefile installs extra {extra!r}; pyproject lacks it"
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    build = [x.strip() for x in (REQ / "build.in").read_text().splitlines()]
    return reqs + [Requirement(x) for x in build if x and not x.startswith("#")]


def uncovered(reqs: list[Requirement], locked: dict[str, str]) -> list[str]:
    out = []
    for r in reqs:
        if r.marker is not None and not r.marker.evaluate():
            continue
        version = locked.get(canonicalize_name(r.name))
        if version is None or (r.specifier and not r.specifier.contains(version, prereleases=True)):
            out.append(f"{r} (locked: {version})")
    return out


@pytest.mark.parametrize(("lock", "var"), [("test.lock", "TEST_EXTRAS"), ("install.lock", "INSTALL_EXTRAS")])
def test_the_lock_covers_every_dependency_of_pyproject(lock, var):
    missing = uncovered(wanted(extras(var)), pins(lock))
    assert missing == [], f"requirements/{lock} is stale: run `make lock` (uncovered: {missing})"


def test_the_install_lock_pins_the_same_versions_as_the_test_lock():
    test, install = pins("test.lock"), pins("install.lock")
    assert {n: (v, test.get(n)) for n, v in install.items() if test.get(n) != v} == {}
    assert len(install) < len(test)  # the test set adds pulumi and the dev tools


def test_the_checkov_lock_pins_the_makefile_version():
    version = makefile_var("CHECKOV_VERSION")
    assert pins("checkov.lock")["checkov"] == version
    assert f"checkov=={version}" in (REQ / "checkov.in").read_text().split()
    # checkov's pins stay out of the project's environment (it would downgrade boto3 there).
    assert "checkov" not in pins("test.lock")


def test_make_lock_installs_the_uv_that_pyproject_pins():
    assert pins("test.lock")["uv"] == makefile_var("UV_VERSION")


def test_the_coverage_check_can_fail():
    reqs = [Requirement("boto3>=999"), Requirement("not-a-locked-package"), Requirement("pyyaml>=6")]
    assert uncovered(reqs, {"boto3": "1.44.5", "pyyaml": "6.0.3"}) == [
        "boto3>=999 (locked: 1.44.5)",
        "not-a-locked-package (locked: None)",
    ]
