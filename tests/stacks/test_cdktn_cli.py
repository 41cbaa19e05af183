"""The CDK Terrain CLI runs the same app (cdktf.json -> stacks/main.py) and writes the same stacks.

`make test` installs the CLI into .tools/ (node@22 and cdktn-cli from the npm registry).
"""

import json
import os
import subprocess

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.stacks import synth
from tests.conftest import ROOT

BIN = ROOT / ".tools" / "node_modules" / ".bin"


@pytest.mark.skipif(not (BIN / "cdktn").exists(), reason="CDK Terrain CLI not installed: run `make cdktn-cli`")
def test_cdktn_synth_writes_the_same_stacks_as_the_python_tool(tmp_path):
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        CHECKPOINT_DISABLE="1",
        MLOPS_BLUEPRINT=str(ROOT / "blueprints/reference/starter.yaml"),
    )
    out = tmp_path / "cdktn"
    p = subprocess.run(
        [str(BIN / "cdktn"), "synth", "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    lb = load(ROOT / "blueprints/reference/starter.yaml")
    ours = {r.stack: json.loads(r.json_path.read_text()) for r in synth(lb, lb.select(None), tmp_path / "ours")}
    for stack, doc in ours.items():
        theirs = json.loads((out / "stacks" / stack / "cdk.tf.json").read_text())
        assert theirs["resource"].keys() == doc["resource"].keys()
        assert {t: sorted(v) for t, v in theirs["resource"].items()} == {
            t: sorted(v) for t, v in doc["resource"].items()
        }
        assert theirs["terraform"]["backend"] == doc["terraform"]["backend"]
