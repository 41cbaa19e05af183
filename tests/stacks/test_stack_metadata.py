"""Each synthesized stack writes down what it was made for (`//.mlops_blueprint`: blueprint, environment,
cloud, layer), and the policy gate reads that instead of guessing the cloud from the provider blocks."""

import copy
import json

import pytest

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.loader import load
from mlops_blueprint.policies.tfjson import Doc
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT

REFERENCES = {
    "aws": "starter.yaml",
    "gcp": "gcp-vision.yaml",
    "azure": "azure-claims.yaml",
    "onprem": "onprem-research.yaml",
}


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """cloud -> [(blueprint, env, layer, document)] for every stack of each cloud's reference blueprint."""
    out = {}
    for cloud, file in REFERENCES.items():
        lb = load(ROOT / "blueprints/reference" / file)
        docs = []
        for r in synth(lb, lb.select(None), tmp_path_factory.mktemp(cloud), DeploySettings()):
            docs.append((lb.name, r.env, "cloud", json.loads(r.json_path.read_text())))
            if r.cluster is not None:
                docs.append((lb.name, r.env, "cluster", json.loads(r.cluster.json_path.read_text())))
        out[cloud] = docs
    return out


@pytest.mark.parametrize("cloud", sorted(REFERENCES))
def test_every_stack_records_its_blueprint_environment_cloud_and_layer(stacks, cloud):
    docs = stacks[cloud]
    assert len({env for _, env, _, _ in docs}) >= 2
    for blueprint, env, layer, doc in docs:
        assert registry.stack_metadata(doc) == {
            "format": 1,
            "blueprint": blueprint,
            "environment": env,
            "cloud": cloud,
            "layer": layer,
        }
        assert registry.cloud_of_doc(doc).name == cloud
        assert Doc(doc).environment() == env and Doc(doc).cloud() == cloud


def test_a_kubernetes_only_stack_of_a_cloud_is_not_taken_for_onprem(stacks):
    """A cluster stack whose providers are only kubernetes and helm (as a second Kubernetes-based target's
    would be) keeps its cloud: the guess from provider keys would say on-prem, and give it on-prem's rules."""
    _, _, _, doc = next(d for d in stacks["aws"] if d[2] == "cluster")
    bare = copy.deepcopy(doc)
    bare["provider"] = {k: v for k, v in bare["provider"].items() if k in ("kubernetes", "helm")}
    assert registry.cloud_of_doc(bare).name == "aws"
    del bare["//"]["mlops_blueprint"]
    assert registry.cloud_of_doc(bare).name == "onprem"  # what the old guess made of it
