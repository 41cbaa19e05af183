"""The synth cache (stacks/cache.py) and checkov's report cache (policies/checkov_runner.py): hits on unchanged input, misses on any change of the
blueprint, the code or the versions, ignores a damaged entry, and gives the gate the same result as
an uncached run. Most tests drive `cache.synth` with a stand-in synth that writes stack folders, so
they count real runs without paying for the bindings; two tests run the real synth and checkov."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops_blueprint.blueprints import load, loads
from mlops_blueprint.stacks import cache
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import MINIMAL, ROOT

STARTER = ROOT / "blueprints/reference/starter.yaml"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLOPS_NO_CACHE", raising=False)
    return tmp_path / "home" / "cache"


@dataclass(frozen=True)
class Result:  # the shape of stacks.SynthResult: an environment's cloud stack and, nested, its cluster stack
    env: str
    stack: str
    directory: Path
    cluster: Result | None = None


class FakeSynth:
    """Writes, per environment, a cloud stack and a cluster stack (two folders for one environment),
    whose JSON depends on the blueprint, and counts its runs."""

    def __init__(self, loaded, outdir: Path):
        self.loaded, self.outdir, self.runs = loaded, outdir, 0

    def _stack(self, e, name: str, kind: str) -> Path:
        d = self.outdir / "stacks" / name
        d.mkdir(parents=True, exist_ok=True)
        doc = {"kind": kind, "zones": e.blueprint.components.data_lake.zones}
        (d / "cdk.tf.json").write_text(json.dumps(doc))
        return d

    def __call__(self) -> list[Result]:
        self.runs += 1
        out = []
        for e in self.loaded.select(None):
            name = f"{self.loaded.name}-{e.name}"
            cluster = Result(e.name, f"{name}-cluster", self._stack(e, f"{name}-cluster", "cluster"))
            out.append(Result(e.name, name, self._stack(e, name, "cloud"), cluster))
        (self.outdir / "manifest.json").write_text(json.dumps({"stacks": [r.stack for r in out]}))
        return out


def _synth(loaded, outdir, fake, settings=DeploySettings()):
    return cache.synth(loaded, loaded.select(None), outdir, settings, fake)


def test_an_unchanged_blueprint_is_restored_without_a_synth(tmp_path):
    lb = loads(MINIMAL, "bp.yaml")
    fake = FakeSynth(lb, tmp_path / "a")
    first = _synth(lb, tmp_path / "a", fake)
    assert fake.runs == 1 and len(first) == 1
    # a different output folder gets the same stacks, every folder of them, without a run
    second = _synth(lb, tmp_path / "b", FakeSynth(lb, tmp_path / "never"))
    assert second == [
        Result(
            "dev",
            "demo-dev",
            tmp_path / "b/stacks/demo-dev",
            Result("dev", "demo-dev-cluster", tmp_path / "b/stacks/demo-dev-cluster"),
        )
    ]
    for a, b in ((first[0], second[0]), (first[0].cluster, second[0].cluster)):
        assert (a.directory / "cdk.tf.json").read_bytes() == (b.directory / "cdk.tf.json").read_bytes()
    assert (tmp_path / "b" / "manifest.json").read_text() == (tmp_path / "a" / "manifest.json").read_text()
    assert not (tmp_path / "never").exists()


def test_a_restore_keeps_terraforms_working_files(tmp_path):
    lb = loads(MINIMAL, "bp.yaml")
    _synth(lb, tmp_path / "a", FakeSynth(lb, tmp_path / "a"))
    stack = tmp_path / "b" / "stacks" / "demo-dev"
    (stack / ".terraform").mkdir(parents=True)
    (stack / ".terraform.lock.hcl").write_text("lock")
    (stack / "cdk.tf.json").write_text("{}")
    fake = FakeSynth(lb, tmp_path / "never")
    _synth(lb, tmp_path / "b", fake)
    assert fake.runs == 0
    assert (stack / ".terraform.lock.hcl").read_text() == "lock" and (stack / ".terraform").is_dir()
    assert json.loads((stack / "cdk.tf.json").read_text())["kind"] == "cloud"


def test_only_what_synth_wrote_is_stored(tmp_path, own_cache):
    lb = loads(MINIMAL, "bp.yaml")
    stack = tmp_path / "a" / "stacks" / "demo-dev"
    stack.mkdir(parents=True)
    (stack / "plan.tfplan").write_text("an old plan")
    _synth(lb, tmp_path / "a", FakeSynth(lb, tmp_path / "a"))
    [entry] = (own_cache / "synth").iterdir()
    stored = {p.relative_to(entry / "files").as_posix() for p in (entry / "files").rglob("*") if p.is_file()}
    assert stored == {"manifest.json", "stacks/demo-dev/cdk.tf.json", "stacks/demo-dev-cluster/cdk.tf.json"}


def test_a_changed_blueprint_misses(tmp_path):
    lb = loads(MINIMAL, "bp.yaml")
    fake = FakeSynth(lb, tmp_path / "a")
    _synth(lb, tmp_path / "a", fake)
    changed = loads(MINIMAL.replace("zones: [raw, curated]", "zones: [raw, curated, gold]"), "bp.yaml")
    fake2 = FakeSynth(changed, tmp_path / "b")
    [cloud] = _synth(changed, tmp_path / "b", fake2)
    assert fake2.runs == 1
    assert json.loads((cloud.directory / "cdk.tf.json").read_text())["zones"] == ["raw", "curated", "gold"]


def test_a_changed_file_on_disk_misses_even_when_it_resolves_the_same(tmp_path, write):
    """The key holds the file's bytes as well as the resolved documents (a comment changes the key)."""
    p = write(MINIMAL)
    lb = load(p)
    fake = FakeSynth(lb, tmp_path / "a")
    _synth(lb, tmp_path / "a", fake)
    p.write_text(MINIMAL + "# a comment\n")
    lb2 = load(p)
    fake2 = FakeSynth(lb2, tmp_path / "a")
    _synth(lb2, tmp_path / "a", fake2)
    assert fake2.runs == 1


def test_another_environment_selection_or_settings_misses(tmp_path):
    lb = loads(MINIMAL, "bp.yaml")
    _synth(lb, tmp_path / "a", FakeSynth(lb, tmp_path / "a"))
    fake = FakeSynth(lb, tmp_path / "a")
    _synth(lb, tmp_path / "a", fake, DeploySettings.for_local(True))
    assert fake.runs == 1


def test_a_changed_code_hash_misses(tmp_path, monkeypatch):
    lb = loads(MINIMAL, "bp.yaml")
    _synth(lb, tmp_path / "a", FakeSynth(lb, tmp_path / "a"))
    monkeypatch.setattr(cache, "code_hash", lambda: "another package")
    fake = FakeSynth(lb, tmp_path / "a")
    _synth(lb, tmp_path / "a", fake)
    assert fake.runs == 1


def test_a_changed_version_misses(tmp_path, monkeypatch):
    lb = loads(MINIMAL, "bp.yaml")
    _synth(lb, tmp_path / "a", FakeSynth(lb, tmp_path / "a"))
    real = cache.versions()
    assert any(v.startswith("cdktn-") and v.endswith(".dist-info") for v in real)  # the bindings' versions
    monkeypatch.setattr(cache, "versions", lambda: [v.replace("cdktn-0.", "cdktn-9.") for v in real])
    fake = FakeSynth(lb, tmp_path / "a")
    _synth(lb, tmp_path / "a", fake)
    assert fake.runs == 1


def test_the_code_hash_follows_every_change_of_a_package_file(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "stacks").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    mod = pkg / "stacks" / "a.py"
    mod.write_text("X = 1\n")
    memo = tmp_path / "memo"
    h1 = cache.code_hash(pkg, memo)
    assert cache.code_hash(pkg, memo) == h1
    # same size, same mtime, new content, just after hashing: the mtime cannot be trusted, so it is re-read
    st = mod.stat()
    mod.write_text("X = 2\n")
    os.utime(mod, ns=(st.st_atime_ns, st.st_mtime_ns))
    h2 = cache.code_hash(pkg, memo)
    assert h2 != h1
    # a template or data file counts as code too, and so does a new file
    (pkg / "stacks" / "t.j2").write_text("{{ x }}")
    h3 = cache.code_hash(pkg, memo)
    (pkg / "stacks" / "data.yaml").write_text("a: 1")
    assert len({h1, h2, h3, cache.code_hash(pkg, memo)}) == 4
    # compiled files are not code
    (pkg / "stacks" / "__pycache__").mkdir()
    (pkg / "stacks" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"x")
    h4 = cache.code_hash(pkg, memo)
    assert cache.code_hash(pkg, memo) == h4


def test_an_old_unchanged_file_is_not_read_again(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    (pkg / "stacks").mkdir(parents=True)
    mod = pkg / "stacks" / "a.py"
    mod.write_text("X = 1\n")
    old = time.time() - 3600
    os.utime(mod, (old, old))
    memo = tmp_path / "memo"
    h1 = cache.code_hash(pkg, memo)
    reads = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real(self))
    assert cache.code_hash(pkg, memo) == h1 and mod not in reads


@pytest.mark.parametrize("damage", ["file", "meta", "missing"])
def test_a_damaged_entry_is_ignored_and_synth_runs(tmp_path, own_cache, damage):
    lb = loads(MINIMAL, "bp.yaml")
    _synth(lb, tmp_path / "a", FakeSynth(lb, tmp_path / "a"))
    [entry] = (own_cache / "synth").iterdir()
    stored = entry / "files" / "stacks" / "demo-dev" / "cdk.tf.json"
    if damage == "file":
        stored.write_text(stored.read_text().replace("raw", "RAW"))  # same shape, wrong content
    elif damage == "meta":
        (entry / "meta.json").write_text('{"files": ')
    else:
        stored.unlink()
    fake = FakeSynth(lb, tmp_path / "b")
    [cloud] = _synth(lb, tmp_path / "b", fake)
    assert fake.runs == 1
    assert json.loads((cloud.directory / "cdk.tf.json").read_text())["zones"] == ["raw", "curated"]
    # the damaged entry was replaced by a good one
    fake3 = FakeSynth(lb, tmp_path / "c")
    _synth(lb, tmp_path / "c", fake3)
    assert fake3.runs == 0


def test_no_cache_runs_synth_every_time(tmp_path, monkeypatch, own_cache):
    monkeypatch.setenv("MLOPS_NO_CACHE", "1")
    lb = loads(MINIMAL, "bp.yaml")
    fake = FakeSynth(lb, tmp_path / "a")
    _synth(lb, tmp_path / "a", fake)
    _synth(lb, tmp_path / "a", fake)
    assert fake.runs == 2 and not own_cache.exists()


def test_the_cache_stays_under_its_size_dropping_the_least_recently_used(tmp_path):
    from mlops_blueprint.policies import checkov_runner

    base = tmp_path / "c"
    for i in range(5):
        (base / "synth" / f"s{i}").mkdir(parents=True)
        (base / "synth" / f"s{i}" / "meta.json").write_text("x" * 1000)
        os.utime(base / "synth" / f"s{i}", (1000 + i, 1000 + i))
    checkov_runner.store("k", "{}", base=base / "checkov")
    os.utime(base / "synth" / "s0")  # a hit makes an entry recent
    cache.evict(limit=3500, base=base)
    assert sorted(p.name for p in (base / "synth").iterdir()) == ["s0", "s3", "s4"]
    assert (base / "checkov" / "k.json").exists()  # the newest of all
    # checkov's own bound, at each store
    for i in range(4):
        checkov_runner.store(f"c{i}", json.dumps({"pad": "x" * 1000}), base=base / "c2", limit=2500)
    assert sorted(p.stem for p in (base / "c2").iterdir()) == ["c2", "c3"]


def test_a_damaged_checkov_entry_is_a_miss(tmp_path):
    from mlops_blueprint.policies import checkov_runner

    base = tmp_path / "c"
    checkov_runner.store("k", '{"results": {}}', base=base)
    assert checkov_runner.load_cached("k", base=base) == '{"results": {}}'
    path = base / "k.json"
    path.write_text(path.read_text().replace("results", "resulzs"))
    assert checkov_runner.load_cached("k", base=base) is None and not path.exists()


def test_the_checkov_key_follows_the_bytes_the_options_and_checkovs_version(tmp_path, monkeypatch):
    from mlops_blueprint.policies import checkov_runner

    binary = checkov_runner.binary()
    k = checkov_runner.cache_key(binary, b'{"a": 1}', ["--skip-check", "NONE"])
    assert k == checkov_runner.cache_key(binary, b'{"a": 1}', ["--skip-check", "NONE"])
    assert k != checkov_runner.cache_key(binary, b'{"a": 2}', ["--skip-check", "NONE"])
    assert k != checkov_runner.cache_key(binary, b'{"a": 1}', ["--skip-check", "CKV_AWS_18"])
    assert "checkov-" in checkov_runner._version(binary)  # read from checkov's own site-packages
    monkeypatch.setattr(checkov_runner, "_version", lambda b: "checkov-9.9.9.dist-info")
    assert k != checkov_runner.cache_key(binary, b'{"a": 1}', ["--skip-check", "NONE"])


# --- the real synth and checkov ----------------------------------------------------------------------


def test_real_synth_restores_identical_stacks_without_loading_the_bindings(tmp_path, monkeypatch):
    import mlops_blueprint.stacks as stacks

    lb = load(STARTER)
    first = stacks.synth(lb, [lb.envs["dev"]], tmp_path / "a")
    monkeypatch.setattr(stacks, "_synth", lambda *a, **k: pytest.fail("synth ran on an unchanged blueprint"))
    second = stacks.synth(lb, [lb.envs["dev"]], tmp_path / "b")
    assert [type(r) for r in second] == [stacks.SynthResult] and second[0].stack == first[0].stack == "starter-dev"
    assert second[0].json_path.read_bytes() == first[0].json_path.read_bytes()
    cluster = getattr(first[0], "cluster", None)  # the environment's cluster stack, where synth makes one
    if cluster is not None:
        assert second[0].cluster.stack == cluster.stack and second[0].cluster.directory.parent == tmp_path / "b/stacks"
        assert second[0].cluster.json_path.read_bytes() == cluster.json_path.read_bytes()


def test_the_cached_gate_equals_the_uncached_one(tmp_path, monkeypatch):
    """check, uncached (MLOPS_NO_CACHE=1), then twice cached (store, then hit): the same findings."""
    from mlops_blueprint.policies import checkov_runner
    from mlops_blueprint.scripts import pipeline

    lb = load(STARTER)

    def findings(out: Path) -> list:
        outcome = pipeline.check(lb, "dev", out)
        return sorted(
            (f.rule, f.subject, f.address, f.passed, f.waived_by, f.source) for f in outcome.reports["dev"].findings
        )

    monkeypatch.setenv("MLOPS_NO_CACHE", "1")
    uncached = findings(tmp_path / "u")
    monkeypatch.delenv("MLOPS_NO_CACHE")
    stored = findings(tmp_path / "s")
    runs = []
    real_run = checkov_runner.subprocess.run
    monkeypatch.setattr(checkov_runner.subprocess, "run", lambda *a, **k: runs.append(a) or real_run(*a, **k))
    hit = findings(tmp_path / "h")
    assert runs == []  # checkov answered from the cache
    assert any(s == "checkov" for *_, s in uncached) and uncached == stored == hit
