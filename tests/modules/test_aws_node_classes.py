"""AWS pools get their `disk_gb` through EKS Auto Mode NodeClasses (modules/cluster/aws.py): one
NodeClass per distinct disk size with `ephemeralStorage.size` = disk_gb Gi, the built-in `default`
NodeClass's role, subnets and security group read from the cluster, each NodePool on its pool's
NodeClass; the vendored NodeClass schema (tests/schemas/crds/eks.amazonaws.com_NodeClass_v1.json) accepts
them and refuses broken ones; Terraform evaluates the cluster-derived fields to what the API expects.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.modules.cluster import validate
from mlops_blueprint.modules.cluster.aws import NodeClassNetwork, node_class, node_class_name, node_pool
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT
from tests.modules.conftest import resources

STARTER = ROOT / "blueprints" / "reference" / "starter.yaml"
STARTER_POOL = "gpu-a: {accelerator: nvidia-l4, gpus_per_node: 1, min_nodes: 0, max_nodes: 4, spot: true}"
ROLE = '${regex("[^/]+$", data.aws_eks_cluster.cluster.compute_config[0].node_role_arn)}'
SUBNETS = "${[ for key, val in toset(tolist(data.aws_eks_cluster.cluster.vpc_config[0].subnet_ids)): { id = val }]}"
CLUSTER_SG = "${data.aws_eks_cluster.cluster.vpc_config[0].cluster_security_group_id}"
KEY = "${data.aws_kms_key.node-volume-key.arn}"
LITERAL = NodeClassNetwork(
    role="starter-dev-eks-nodes", subnet_terms=[{"id": "subnet-0a1"}], security_group_id="sg-0f1"
)
LITERAL_KEY = "arn:aws:kms:eu-central-1:123456789012:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d"
TAGS = {"mlops:environment": "dev", "cost-center": "cc-1234"}


def _cluster_stacks(path: Path, out: Path) -> dict[str, dict]:
    lb = load(path)
    return {
        r.env: json.loads(r.cluster.json_path.read_text())
        for r in synth(lb, lb.select(None), out, DeploySettings())
        if r.cluster
    }


def _kind(doc: dict, kind: str) -> dict[str, dict]:
    """address -> resource body, for the kubernetes_manifest resources of `kind`."""
    return {a: b for a, b in resources(doc, "kubernetes_manifest").items() if b["manifest"]["kind"] == kind}


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    return _cluster_stacks(STARTER, tmp_path_factory.mktemp("starter"))


@pytest.fixture(scope="module")
def three_pools(tmp_path_factory):
    """The starter with three pools: two of 500 GB, one of 1000 GB; dev overrides gpu-c's disk to 500."""
    folder = tmp_path_factory.mktemp("three")
    text = STARTER.read_text()
    assert STARTER_POOL in text
    text = text.replace(
        STARTER_POOL,
        "gpu-a: {accelerator: nvidia-l4, max_nodes: 4, spot: true, disk_gb: 500}\n"
        "      gpu-b: {accelerator: nvidia-l4, max_nodes: 2, disk_gb: 500}\n"
        "      gpu-c: {accelerator: nvidia-a100, gpus_per_node: 8, max_nodes: 1, disk_gb: 1000}",
    )
    dev = "      components.training.pools.gpu-a.max_nodes: 1\n"
    assert text.count(dev) == 1
    text = text.replace(dev, dev + "      components.training.pools.gpu-c.disk_gb: 500\n")
    path = folder / "three-pools.yaml"
    path.write_text(text)
    return _cluster_stacks(path, folder / "out")


def test_the_starter_pool_gets_a_node_class_with_its_disk_and_the_default_node_class_settings(starter):
    for env, doc in starter.items():
        [nc] = _kind(doc, "NodeClass").values()
        m = nc["manifest"]
        assert m["apiVersion"] == "eks.amazonaws.com/v1", env
        assert m["metadata"]["name"] == "gpu-disk-200gi"  # disk_gb omitted: 200
        assert m["metadata"]["labels"]["mlops.io/environment"] == env
        assert m["spec"] == {
            "role": ROLE,
            "subnetSelectorTerms": SUBNETS,
            "securityGroupSelectorTerms": [{"id": CLUSTER_SG}],
            "ephemeralStorage": {"size": "200Gi", "iops": 3000, "throughput": 125, "kmsKeyID": KEY},
            "snatPolicy": "Random",
            "networkPolicy": "DefaultAllow",
            "networkPolicyEventLogs": "Disabled",
            "tags": {
                "mlops:blueprint": "starter",
                "mlops:environment": env,
                "owner": "ml-platform@example.com",
                "cost-center": "cc-1234",
                "data-classification": "internal",
                "managed-by": "mlops-blueprint",
            },
        }


def test_the_node_class_reads_the_cluster_the_cloud_stack_made(starter):
    doc = starter["dev"]
    assert doc["data"]["aws_eks_cluster"]["cluster"]["name"] == "starter-dev-training"
    # the cluster stack makes no IAM role and no access entry: the NodeClass reuses Auto Mode's node role,
    # whose EC2 access entry EKS made with the cluster
    assert not {t for t in doc.get("resource", {}) if t.startswith("aws_")}
    # and reads the baseline's `ml` key by its alias (the key the nodes' volumes are encrypted with)
    assert doc["data"]["aws_kms_key"]["node-volume-key"]["key_id"] == "alias/starter-dev-ml"


def test_each_node_pool_is_on_its_node_class_and_created_after_it(starter):
    doc = starter["prod"]
    [(class_addr, _)] = _kind(doc, "NodeClass").items()
    [pool] = _kind(doc, "NodePool").values()
    assert pool["manifest"]["spec"]["template"]["spec"]["nodeClassRef"] == {
        "group": "eks.amazonaws.com",
        "kind": "NodeClass",
        "name": "gpu-disk-200gi",
    }
    assert pool["depends_on"] == [f"kubernetes_manifest.{class_addr}"]


def test_one_node_class_per_distinct_disk_size_and_env_overrides_apply(three_pools):
    sizes = {
        env: {
            b["manifest"]["metadata"]["name"]: b["manifest"]["spec"]["ephemeralStorage"]["size"]
            for b in _kind(doc, "NodeClass").values()
        }
        for env, doc in three_pools.items()
    }
    assert sizes["prod"] == {"gpu-disk-500gi": "500Gi", "gpu-disk-1000gi": "1000Gi"}
    assert sizes["dev"] == {"gpu-disk-500gi": "500Gi"}  # dev moved gpu-c to 500 GB: one NodeClass left
    refs = {
        env: {
            b["manifest"]["metadata"]["name"]: b["manifest"]["spec"]["template"]["spec"]["nodeClassRef"]["name"]
            for b in _kind(doc, "NodePool").values()
        }
        for env, doc in three_pools.items()
    }
    assert refs["prod"] == {"gpu-a": "gpu-disk-500gi", "gpu-b": "gpu-disk-500gi", "gpu-c": "gpu-disk-1000gi"}
    assert refs["dev"] == {"gpu-a": "gpu-disk-500gi", "gpu-b": "gpu-disk-500gi", "gpu-c": "gpu-disk-500gi"}
    # every reference names a NodeClass of the same stack, which Terraform creates first
    for doc in three_pools.values():
        classes = {b["manifest"]["metadata"]["name"]: a for a, b in _kind(doc, "NodeClass").items()}
        for pool in _kind(doc, "NodePool").values():
            name = pool["manifest"]["spec"]["template"]["spec"]["nodeClassRef"]["name"]
            assert pool["depends_on"] == [f"kubernetes_manifest.{classes[name]}"]


def test_node_classes_and_pools_validate_against_the_vendored_schemas(three_pools):
    assert validate.available() is None
    schema = validate.crd_schema("eks.amazonaws.com/v1", "NodeClass")
    assert {"ephemeralStorage", "role", "subnetSelectorTerms"} <= set(schema["properties"]["spec"]["properties"])
    for env, doc in three_pools.items():
        count, problems = validate.stack_errors(doc, "1.35")
        assert problems == [], (env, problems)
        assert count == len(resources(doc, "kubernetes_manifest"))


def test_the_vendored_node_class_schema_refuses_broken_objects():
    good = node_class(200, network=LITERAL, labels={}, tags=TAGS, kms_key_id=LITERAL_KEY)
    assert validate.object_errors(good, "1.35") == []
    biggest = node_class(16000, network=LITERAL, labels={}, tags=TAGS, kms_key_id=LITERAL_KEY)  # the blueprint's max
    assert validate.object_errors(biggest, "1.35") == []

    def broken(change) -> list[str]:
        bad = json.loads(json.dumps(good))
        change(bad["spec"])
        return validate.object_errors(bad, "1.35")

    assert any("'role' is a required property" in e for e in broken(lambda s: s.pop("role")))
    assert any("subnetSelectorTerms" in e for e in broken(lambda s: s.pop("subnetSelectorTerms")))
    assert any("ephemeralStorage.size" in e for e in broken(lambda s: s["ephemeralStorage"].update(size="200GiB")))
    assert any("ephemeralStorage.size" in e for e in broken(lambda s: s["ephemeralStorage"].update(size="60000Gi")))
    assert any("ephemeralStorage.iops" in e for e in broken(lambda s: s["ephemeralStorage"].update(iops=100)))
    assert any("snatPolicy" in e for e in broken(lambda s: s.update(snatPolicy="random")))
    assert any("spec.tags.owner" in e for e in broken(lambda s: s["tags"].update(owner=7)))  # values are strings


def test_only_whole_terraform_expressions_escape_the_offline_check():
    """A `${...}` value is unknown until plan (not checked); a literal of the wrong shape still fails."""
    synthesized = node_class(
        300,
        network=NodeClassNetwork(role=ROLE, subnet_terms=SUBNETS, security_group_id=CLUSTER_SG),  # type: ignore[arg-type]
        labels={},
        tags=TAGS,
        kms_key_id=KEY,
    )
    assert validate.object_errors(synthesized, "1.35") == []
    literal = json.loads(json.dumps(synthesized))
    literal["spec"]["subnetSelectorTerms"] = "subnet-0a1"  # a string where a list belongs, and no expression
    literal["spec"]["securityGroupSelectorTerms"] = [{"id": "group-1"}]
    errors = validate.object_errors(literal, "1.35")
    assert any("subnetSelectorTerms" in e and "array" in e for e in errors), errors
    assert any("securityGroupSelectorTerms.0.id" in e for e in errors), errors


def test_node_pool_names_the_node_class_it_is_given():
    pool = node_pool(
        "gpu-a", accelerator="nvidia-l4", instance="g6.xlarge", spot=False, gpus=2, labels={}, node_class="x"
    )
    assert pool["spec"]["template"]["spec"]["nodeClassRef"]["name"] == "x"
    assert node_class_name(200) == "gpu-disk-200gi" and node_class_name(200) != "default"


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_resolves_the_cluster_fields_to_what_the_node_class_api_takes(starter, tmp_path):
    """The synthesized spec, with the data source's attributes given as locals, evaluated by Terraform."""
    [nc] = _kind(starter["dev"], "NodeClass").values()
    spec = json.dumps(nc["manifest"]["spec"])
    for attr, local in (
        ("aws_eks_cluster.cluster.compute_config[0].node_role_arn", "node_role_arn"),
        ("aws_eks_cluster.cluster.vpc_config[0].subnet_ids", "subnet_ids"),
        ("aws_eks_cluster.cluster.vpc_config[0].cluster_security_group_id", "cluster_sg"),
        ("aws_kms_key.node-volume-key.arn", "key_arn"),
    ):
        assert f"data.{attr}" in spec
        spec = spec.replace(f"data.{attr}", f"local.{local}")
    config = {
        "locals": {
            "node_role_arn": "arn:aws:iam::123456789012:role/starter-dev-eks-nodes",
            "subnet_ids": ["subnet-0b2", "subnet-0a1"],
            "cluster_sg": "sg-0c3",
            "key_arn": LITERAL_KEY,
        },
        "output": {"spec": {"value": json.loads(spec)}},
    }
    (tmp_path / "main.tf.json").write_text(json.dumps(config))
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path), "CHECKPOINT_DISABLE": "1"}
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        p = subprocess.run(["terraform", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
    out = subprocess.run(
        ["terraform", "output", "-json", "spec"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    resolved = json.loads(out.stdout)
    assert resolved["role"] == "starter-dev-eks-nodes"
    assert resolved["subnetSelectorTerms"] == [{"id": "subnet-0a1"}, {"id": "subnet-0b2"}]
    assert resolved["securityGroupSelectorTerms"] == [{"id": "sg-0c3"}]
    assert resolved["ephemeralStorage"]["kmsKeyID"] == LITERAL_KEY
    assert resolved["tags"]["mlops:environment"] == "dev"
    # and the resolved object is one the NodeClass schema accepts
    resolved_obj = {**nc["manifest"], "spec": resolved}
    assert validate.object_errors(resolved_obj, "1.35") == []
