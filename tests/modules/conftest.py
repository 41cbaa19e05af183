import json

import pytest

from blueprints import load
from stacks import synth
from stacks.settings import DeploySettings
from tests.conftest import ROOT


@pytest.fixture(scope="session")
def starter(tmp_path_factory):
    """The starter blueprint synthesized for dev and prod: {env: cdk.tf.json as a dict}."""
    lb = load(ROOT / "blueprints/reference/starter.yaml")
    out = tmp_path_factory.mktemp("synth")
    return {r.env: json.loads(r.json_path.read_text()) for r in synth(lb, lb.select(None), out, DeploySettings())}


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


def one(doc: dict, rtype: str, **match) -> dict:
    found = [r for r in resources(doc, rtype).values() if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one {rtype} with {match}, found {len(found)}"
    return found[0]
