"""The README's examples run: its blueprint validates, and each Python example runs as written,
from a scratch folder that holds `blueprints/` (so their relative paths and `cdktf.out` resolve)."""

import json
import os
import re
import subprocess
import sys

import pytest

from mlops_blueprint.blueprints import loads
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
PYTHON = re.findall(r"```python\n(.*?)```", README, flags=re.S)
YAML = re.findall(r"```yaml\n(.*?)```", README, flags=re.S)


def test_the_readme_has_the_library_examples():
    assert len(PYTHON) >= 3, "README lost its library examples"


def test_the_readme_blueprint_validates_as_written():
    blueprint = next(y for y in YAML if "kind: Blueprint" in y)
    loaded = loads(blueprint, name="README.md")
    assert loaded.name == "starter" and list(loaded.envs) == ["dev", "prod"]
    assert loaded.envs["dev"].blueprint.components.training.pools["gpu-a"].max_nodes == 1


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "blueprints").symlink_to(ROOT / "blueprints")
    return tmp_path


@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_readme_python_example_runs(index, scratch):
    path = scratch / f"example{index}.py"
    path.write_text(PYTHON[index])
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="18,20")
    p = subprocess.run([sys.executable, str(path)], cwd=scratch, capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    stacks = sorted(q.name for q in (scratch / "cdktf.out" / "stacks").iterdir())
    if "mb.check(" in PYTHON[index]:
        assert p.stdout.strip() == "gate passed ['dev']"
        assert stacks == ["starter-dev", "starter-dev-cluster"]
    elif "AnalyticsLake" in PYTHON[index]:
        doc = json.loads((scratch / "cdktf.out/stacks/analytics-lake/cdk.tf.json").read_text())
        buckets = sorted(b["bucket"] for b in doc["resource"]["aws_s3_bucket"].values())
        assert stacks == ["analytics-lake"] and buckets == [
            "analytics-dev-audit-logs",
            "analytics-dev-curated",
            "analytics-dev-raw",
        ]
    else:
        doc = json.loads((scratch / "cdktf.out/stacks/starter-dev/cdk.tf.json").read_text())
        assert stacks == ["starter-dev", "starter-dev-cluster"] and "aws_sagemaker_endpoint" in doc["resource"]
