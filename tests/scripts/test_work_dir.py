"""Where stacks go: `synth` writes `./cdktf.out` (as `cdktn synth` does); every command that synthesizes
on its way writes `$MLOPS_HOME/out/<blueprint>` and nothing into the current directory; `--output`
chooses for all of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.scripts import pipeline
from mlops_blueprint.scripts.cli import app
from mlops_blueprint.scripts.glue import Target
from tests.conftest import MINIMAL

COMMANDS = {
    "check": [],
    "plan": [],
    "up": [],
    "down": [],
    "drift": [],
    "outputs": [],
    "review": ["--base", "BLUEPRINT"],
}


class Synthesized(UserError):
    """Stands in for synth: the folder is recorded, nothing is written."""


@pytest.fixture
def where(monkeypatch, tmp_path):
    import mlops_blueprint.stacks as stacks

    seen: list[Path] = []

    def synth(loaded, envs, outdir, settings=None):
        seen.append(Path(outdir))
        raise Synthesized("synthesized")

    monkeypatch.setattr(stacks, "synth", synth)
    monkeypatch.setattr(pipeline, "_target", lambda *a, **k: Target(local=False, mirror=None))
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    cwd = tmp_path / "project"
    cwd.mkdir()
    (cwd / "bp.yaml").write_text(MINIMAL)
    monkeypatch.chdir(cwd)
    return seen, cwd


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_that_synthesizes_on_its_way_writes_under_the_home(where, tmp_path, command):
    seen, cwd = where
    extra = [a.replace("BLUEPRINT", "bp.yaml") for a in COMMANDS[command]]
    r = CliRunner().invoke(app, [command, "bp.yaml", *extra])
    assert "synthesized" in r.output, r.output
    assert seen == [tmp_path / "home" / "out" / "demo"]
    assert sorted(p.name for p in cwd.iterdir()) == ["bp.yaml"]  # nothing in the current directory
    seen.clear()
    r = CliRunner().invoke(app, [command, "bp.yaml", *extra, "--output", str(tmp_path / "mine")])
    assert seen == [tmp_path / "mine"], r.output


def test_synth_writes_cdktf_out_as_cdktn_does(where):
    seen, _ = where
    CliRunner().invoke(app, ["synth", "bp.yaml"])
    assert seen == [Path("cdktf.out")]


def test_the_home_defaults_to_the_users(monkeypatch, tmp_path):
    from mlops_blueprint.blueprints import loads

    monkeypatch.delenv("MLOPS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert pipeline.work_dir(loads(MINIMAL)) == tmp_path / ".mlops-blueprint" / "out" / "demo"
