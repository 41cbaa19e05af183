import json

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
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


def retarget(text: str, region: str = "europe-west4", project: str = "acme-ml-platform") -> str:
    """An AWS reference blueprint moved to GCP by its target line (and nothing else)."""
    import re

    out, n = re.subn(
        r"^target: \{cloud: aws, region: [a-z0-9-]+\}$",
        f"target: {{cloud: gcp, region: {region}, project_id: {project}}}",
        text,
        flags=re.M,
    )
    assert n == 1, "the reference blueprint must keep its target on one line"
    return out


@pytest.fixture(scope="session")
def gcp_starter(tmp_path_factory):
    """The starter retargeted to GCP by its target line, synthesized for dev and prod."""
    folder = tmp_path_factory.mktemp("gcp")
    path = folder / "starter-gcp.yaml"
    path.write_text(retarget((ROOT / "blueprints/reference/starter.yaml").read_text()))
    lb = load(path)
    return {
        r.env: json.loads(r.json_path.read_text()) for r in synth(lb, lb.select(None), folder / "out", DeploySettings())
    }
