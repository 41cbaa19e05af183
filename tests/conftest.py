import os
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = sorted((ROOT / "blueprints" / "reference").glob("*.yaml"))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

MINIMAL = """\
apiVersion: mlops.blueprint/v1
kind: Blueprint
metadata: {name: demo, owner: team@example.com, cost_center: cc-1}
target: {cloud: aws, region: eu-central-1}
components:
  data_lake: {zones: [raw, curated]}
  training:
    pools:
      gpu: {accelerator: nvidia-a10g, max_nodes: 2}
  registry: {models: [m1]}
  serving:
    endpoints:
      api: {model: m1}
environments:
  dev: {protect_stateful: false}
"""


@pytest.fixture
def write(tmp_path):
    """Write a blueprint into a temp file and return its path."""

    def _write(text: str, name: str = "bp.yaml") -> Path:
        p = tmp_path / name
        p.write_text(textwrap.dedent(text))
        return p

    return _write


from tests.conftest_emulator import aws, emulator  # noqa: E402,F401  (shared fixtures)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One content-hash cache (stacks/cache.py: synthesized stacks and checkov results, keyed by the
    blueprint, the code and the tool versions) for every emulator home of a pytest process, so that
    each module's first `up` of the starter does not synthesize and run checkov again. Per process
    (under pytest-xdist, per worker): its base temp folder is its own."""
    cache = tmp_path_factory.getbasetemp() / "shared-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture(scope="module")
def emulator_home(tmp_path_factory, shared_cache):
    """The tool's home for one test module's emulator (tests/conftest_emulator.py), its cache shared."""
    home = tmp_path_factory.mktemp("mlops-home")
    (home / "cache").symlink_to(shared_cache, target_is_directory=True)
    return home
