"""Objects a killed run created but never recorded: how `up` names and adopts them (scripts/pipeline.py
`_adopt`, scripts/glue/aws.py `import_ids`). The emulator adopts; a cloud only gets the commands."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.loader import load
from mlops_blueprint.scripts import pipeline
from mlops_blueprint.scripts.glue import Target
from mlops_blueprint.scripts.glue import aws as glue
from mlops_blueprint.scripts.terraform import TerraformFailed
from tests.conftest import ROOT

DOC = {
    "resource": {
        "aws_s3_bucket": {"raw": {"bucket": "starter-dev-raw"}},
        "aws_iam_policy": {"p": {"name": "starter-dev-read", "path": "/mlops/"}},
        "aws_glue_catalog_database": {"db": {"name": "starter_dev_sales"}},
        "aws_iam_role": {"r": {"name": "${aws_iam_role.other.name}-x"}},
        "aws_kms_key": {"k": {"description": "no name"}},
        "aws_budgets_budget": {"b": {"name": "starter-dev"}},
        "aws_eks_cluster": {"c": {"name": "starter-dev-training"}},
        "aws_eks_addon": {
            "a": {"addon_name": "amazon-cloudwatch-observability", "cluster_name": "${aws_eks_cluster.c.name}"}
        },
        "aws_secretsmanager_secret": {"s": {"name": "starter-dev/mlflow"}},
    }
}


@pytest.fixture
def env():
    return load(ROOT / "blueprints/reference/starter.yaml").envs["dev"]


def test_import_ids_follow_terraform_import_formats(env, monkeypatch):
    clients = {
        "sts": SimpleNamespace(get_caller_identity=lambda: {"Account": "123456789012"}),
        "secretsmanager": SimpleNamespace(
            describe_secret=lambda SecretId: {
                "ARN": f"arn:aws:secretsmanager:eu-central-1:123456789012:secret:{SecretId}-AbCdEf"
            }
        ),
    }
    monkeypatch.setattr(glue, "client", lambda target, service, region: clients[service])
    ids = glue.import_ids(
        DOC,
        [
            "aws_s3_bucket.raw",
            "aws_iam_policy.p",
            "aws_glue_catalog_database.db",
            "aws_iam_role.r",
            "aws_kms_key.k",
            "aws_s3_bucket.absent",
            "aws_budgets_budget.b",
            "aws_eks_addon.a",
            "aws_secretsmanager_secret.s",
        ],
        env,
        Target(local=True, mirror=None),
    )
    assert ids == {
        "aws_s3_bucket.raw": "starter-dev-raw",
        "aws_iam_policy.p": "arn:aws:iam::123456789012:policy/mlops/starter-dev-read",
        "aws_glue_catalog_database.db": "123456789012:starter_dev_sales",
        "aws_iam_role.r": None,  # its name is known only after apply
        "aws_kms_key.k": None,  # no name: a leaked key does not stop an apply
        "aws_s3_bucket.absent": None,
        "aws_budgets_budget.b": "123456789012:starter-dev",
        "aws_eks_addon.a": "starter-dev-training:amazon-cloudwatch-observability",  # the reference resolved
        "aws_secretsmanager_secret.s": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:starter-dev/mlflow-AbCdEf",
    }


class FakeTerraform:
    def __init__(self, directory: Path):
        self.dir, self.imported = directory, []

    def import_(self, address: str, id: str) -> None:
        self.imported.append((address, id))


def _adopt(env, tmp_path, local: bool, orphans: list[str]):
    doc = tmp_path / "cdk.tf.json"
    doc.write_text(json.dumps(DOC))
    tf = FakeTerraform(tmp_path)
    failure = TerraformFailed("starter-dev", "apply", "Error: ... already exists")
    failure.orphans = orphans
    events: list = []
    r = SimpleNamespace(stack="starter-dev", json_path=doc)
    pipeline._adopt(registry.get("aws"), env, r, tf, failure, Target(local=local, mirror=None), events.append)
    return tf, events


def test_the_emulator_adopts_what_a_killed_run_left(env, tmp_path):
    tf, events = _adopt(env, tmp_path, True, ["aws_s3_bucket.raw"])
    assert tf.imported == [("aws_s3_bucket.raw", "starter-dev-raw")]
    assert any("adopted aws_s3_bucket.raw (starter-dev-raw)" in getattr(e, "message", "") for e in events)


def test_a_cloud_gets_the_import_commands_not_an_adoption(env, tmp_path):
    with pytest.raises(pipeline.Orphaned) as raised:
        _adopt(env, tmp_path, False, ["aws_s3_bucket.raw"])
    assert raised.value.exit_code == 4 and "aws_s3_bucket.raw" in str(raised.value)
    assert f"terraform -chdir={tmp_path} import 'aws_s3_bucket.raw' 'starter-dev-raw'" in raised.value.hint


def test_an_orphan_without_an_import_id_is_not_adopted(env, tmp_path):
    with pytest.raises(pipeline.Orphaned, match="no import id known for aws_iam_role.r"):
        _adopt(env, tmp_path, True, ["aws_s3_bucket.raw", "aws_iam_role.r"])


def test_import_ids_of_the_cluster_mirror_identity_and_api_rule_are_found_on_the_emulator(env, aws, monkeypatch):
    """The objects this session's stacks added can be adopted too: the ECR pull-through rule by its prefix,
    the trainer's Pod Identity association and the API's ingress rule by the ids the cloud gave them."""
    ec2, eks = aws("ec2"), aws("eks")
    vpc = ec2.create_vpc(CidrBlock="10.62.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.62.1.0/24")["Subnet"]["SubnetId"]
    eks.create_cluster(
        name="starter-dev-training",
        roleArn="arn:aws:iam::123456789012:role/x",
        resourcesVpcConfig={"subnetIds": [subnet]},
    )
    group = eks.describe_cluster(name="starter-dev-training")["cluster"]["resourcesVpcConfig"]["clusterSecurityGroupId"]
    [rule] = ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.40.0.0/16"}]}],
    )["SecurityGroupRules"]
    association = eks.create_pod_identity_association(
        clusterName="starter-dev-training",
        namespace="mlops-training",
        serviceAccount="trainer",
        roleArn="arn:aws:iam::123456789012:role/starter-dev-trainer",
    )["association"]
    eks.create_pod_identity_association(  # another service account's, which the lookup must not take
        clusterName="starter-dev-training",
        namespace="amazon-cloudwatch",
        serviceAccount="cloudwatch-agent",
        roleArn="arn:aws:iam::123456789012:role/starter-dev-cloudwatch-agent",
    )
    monkeypatch.setattr(glue, "client", lambda target, service, region: aws(service, region))
    cluster = "${aws_eks_cluster.c.name}"
    doc = {
        "resource": {
            "aws_eks_cluster": {"c": {"name": "starter-dev-training"}},
            "aws_ecr_pull_through_cache_rule": {"m": {"ecr_repository_prefix": "starter-dev-k8s"}},
            "aws_eks_pod_identity_association": {
                "t": {"cluster_name": cluster, "namespace": "mlops-training", "service_account": "trainer"}
            },
            "aws_vpc_security_group_ingress_rule": {
                "api": {
                    "security_group_id": "${aws_eks_cluster.c.vpc_config[0].cluster_security_group_id}",
                    "cidr_ipv4": "10.40.0.0/16",
                    "ip_protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                },
                "other": {
                    "security_group_id": "${aws_eks_cluster.c.vpc_config[0].cluster_security_group_id}",
                    "cidr_ipv4": "192.168.0.0/24",
                    "ip_protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                },
            },
        }
    }
    addresses = [
        "aws_ecr_pull_through_cache_rule.m",
        "aws_eks_pod_identity_association.t",
        "aws_vpc_security_group_ingress_rule.api",
        "aws_vpc_security_group_ingress_rule.other",
    ]
    assert glue.import_ids(doc, addresses, env, Target(local=True, mirror=None)) == {
        "aws_ecr_pull_through_cache_rule.m": "starter-dev-k8s",
        "aws_eks_pod_identity_association.t": f"starter-dev-training,{association['associationId']}",
        "aws_vpc_security_group_ingress_rule.api": rule["SecurityGroupRuleId"],
        "aws_vpc_security_group_ingress_rule.other": None,  # no such rule: nothing to adopt
    }
