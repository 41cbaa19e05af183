"""AWS training jobs have a cloud identity: the `trainer` ServiceAccount of the training namespace (made
by the cluster stack) gets the environment's trainer role through EKS Pod Identity, and that role reads
the lake zones data scientists read and reads and writes model artifacts, as on GCP and Azure."""

from __future__ import annotations

import json

from mlops_blueprint.blueprints import load
from mlops_blueprint.modules.cluster import TRAINER
from mlops_blueprint.modules.training.aws import TRAINING_NAMESPACE
from tests.conftest import ROOT
from tests.modules.conftest import one, resources


def ref(resource: str, address: str) -> str:
    """`aws_x.name.attr` as the synthesized `${...}` reference to it."""
    return "${" + f"{address}.{resource}" + "}"


def addr(doc: dict, rtype: str, **match) -> str:
    [name] = [k for k, r in resources(doc, rtype).items() if all(r.get(f) == v for f, v in match.items())]
    return f"{rtype}.{name}"


def statements(policy: dict) -> list[dict]:
    return json.loads(policy["policy"])["Statement"]


def test_the_trainer_service_account_gets_its_role_by_pod_identity(starter):
    doc = starter["dev"]
    role = one(doc, "aws_iam_role", name="starter-dev-trainer")
    [trust] = json.loads(role["assume_role_policy"])["Statement"]
    assert trust == {
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
    [association] = resources(doc, "aws_eks_pod_identity_association").values()
    assert association["namespace"] == TRAINING_NAMESPACE == "mlops-training"
    assert association["service_account"] == TRAINER == "trainer"
    assert association["role_arn"] == ref("arn", addr(doc, "aws_iam_role", name="starter-dev-trainer"))
    assert association["cluster_name"] == ref("name", addr(doc, "aws_eks_cluster", name="starter-dev-training"))


def test_the_trainer_reads_what_data_scientists_read_and_writes_artifacts_only(starter):
    doc = starter["dev"]
    role = ref("id", addr(doc, "aws_iam_role", name="starter-dev-trainer"))
    policies = {p["name"]: statements(p) for p in resources(doc, "aws_iam_role_policy").values() if p["role"] == role}
    assert sorted(policies) == ["trainer-artifacts", "trainer-lake"]

    lb = load(ROOT / "blueprints/reference/starter.yaml")
    bp = lb.envs["dev"].blueprint
    readable = bp.access.data_scientists.lake.read
    assert readable and set(readable) < set(bp.components.data_lake.zones)  # the reference reads some zones only
    buckets = {z: addr(doc, "aws_s3_bucket", bucket=f"starter-dev-{z}") for z in bp.components.data_lake.zones}
    lake = policies["trainer-lake"]
    read = {r for s in lake for r in s["Resource"] if "s3:GetObject" in s["Action"]}
    assert read == {ref("arn", buckets[z]) + "/*" for z in readable}
    assert not any(a.startswith("s3:Put") or a.startswith("s3:Delete") for s in lake for a in s["Action"])
    data_key = ref("arn", addr(doc, "aws_kms_key", description="starter-dev data encryption"))
    assert {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": [data_key]} in lake

    artifacts = policies["trainer-artifacts"]
    bucket = ref("arn", addr(doc, "aws_s3_bucket", bucket="starter-dev-model-artifacts"))
    writes = [s for s in artifacts if "s3:PutObject" in s["Action"]]
    assert writes and all(s["Resource"] == [bucket + "/*"] for s in writes)
