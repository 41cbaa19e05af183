"""The CLI's user-error contract: a clear message, a non-zero exit, no traceback, nothing half-written."""

import json
import os
import subprocess
import sys

from tests.conftest import MINIMAL, REFERENCE, ROOT

CLI = [sys.executable, "-m", "mlops_blueprint.scripts.cli"]


def run(*args, env=None, cwd=ROOT):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=e)


def test_every_reference_blueprint_validates():
    for path in REFERENCE:
        p = run("validate", path)
        assert p.returncode == 0, p.stderr
        assert p.stdout.startswith("ok ")


def test_bad_blueprint_exits_2_with_location_and_no_traceback(write):
    bad = write(MINIMAL.replace("max_nodes: 2", "max_nodes: 2, min_nodes: 3"))
    p = run("validate", bad)
    assert p.returncode == 2
    assert f"{bad}:9:" in p.stderr and "components.training.pools.gpu.min_nodes" in p.stderr
    assert "Traceback" not in p.stderr + p.stdout


def test_missing_file(tmp_path):
    p = run("validate", tmp_path / "absent.yaml")
    assert p.returncode == 2 and "blueprint file not found" in p.stderr and "Traceback" not in p.stderr


def test_synth_of_a_bad_blueprint_writes_nothing(write, tmp_path):
    out = tmp_path / "out"
    p = run("synth", write(MINIMAL.replace("nvidia-a10g", "nvidia-x")), "--output", out)
    assert p.returncode == 2 and not out.exists()


def test_an_unregistered_cloud_is_refused_at_validate_naming_the_registered_ones(write, tmp_path):
    from mlops_blueprint.blueprints import registry

    bp = write(MINIMAL.replace("{cloud: aws, region: eu-central-1}", "{cloud: mainframe, region: westeurope}"))
    for cmd in ("validate", "synth"):
        p = run(cmd, bp, "--output", tmp_path / "out") if cmd == "synth" else run(cmd, bp)
        assert p.returncode == 2 and "bp.yaml:4:17: target.cloud: Input should be" in p.stderr, p.stderr
        assert all(repr(c) in p.stderr for c in registry.NAMES) and "got 'mainframe'" in p.stderr
        assert p.stderr.count("mainframe") == 1 and "Traceback" not in p.stderr
    assert not (tmp_path / "out").exists()


def test_missing_terraform_is_a_clear_error(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(sys.executable, bindir / "python")
    p = run(
        "plan",
        ROOT / "blueprints/reference/starter.yaml",
        "--env",
        "dev",
        "--local",
        env={"PATH": str(bindir), "MLOPS_HOME": str(tmp_path)},
    )
    assert p.returncode == 3 and "terraform is not on PATH" in p.stderr and "Traceback" not in p.stderr


def test_schema_is_written_and_referenced_by_every_reference_blueprint(tmp_path):
    out = tmp_path / "schema.json"
    assert run("schema", "--output", out).returncode == 0
    schema = json.loads(out.read_text())
    assert schema["additionalProperties"] is False and "components" in schema["properties"]
    committed = json.loads((ROOT / "blueprints/blueprint.schema.json").read_text())
    assert committed == schema, "blueprints/blueprint.schema.json is stale: run `mlops-blueprint schema`"
    for path in REFERENCE:
        assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=../blueprint.schema.json"


def test_machine_formats_on_stdout_parse_whole():
    """Every command with a machine format prints that alone on stdout (`> x.json` is a valid file);
    `check` and `review` (which synthesize and gate) are tested in tests/policies/test_gate_environment.py
    and tests/scripts/test_review.py."""
    import yaml

    starter = ROOT / "blueprints/reference/starter.yaml"
    for args, parse in (
        (("cost", starter, "--format", "json"), json.loads),
        (("catalog", "--format", "json"), json.loads),
        (("catalog", "--compare", "starter", "tactical-team", "--format", "json"), json.loads),
        (("stacks", starter, "--format", "json"), json.loads),
        (("atlantis", starter), yaml.safe_load),
    ):
        p = run(*args)
        assert p.returncode == 0, p.stderr
        assert isinstance(parse(p.stdout), dict | list), args
