"""Three AWS serving defects that would break the first real deploy (review s5, findings 3, 4 and 5a),
asserted on the synthesized `regulated-enterprise` dev stack (one CPU endpoint, one GPU endpoint):

- instance storage: SageMaker refuses an endpoint configuration's KmsKeyId on instance types with local
  instance storage (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html);
  the catalog lists those families, and the configuration of such a size carries no `kms_key_arn` while
  its captured data keeps the `ml` key;
- the execution role has the nine EC2 actions SageMaker documents for a model with a VPC config
  (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html, "CreateModel API");
- the models' security group allows HTTPS to S3's managed prefix list, which the S3 gateway endpoint routes
  to (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html).
"""

from __future__ import annotations

import json

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.modules.serving.aws import VPC_ACTIONS
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.aws.catalog import CATALOG
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT
from tests.modules.conftest import resources

ML_KEY = "${aws_kms_key.baseline_key-ml_C0886365.arn}"


@pytest.fixture(scope="module")
def risk_dev(tmp_path_factory) -> dict:
    lb = load(ROOT / "blueprints/reference/regulated-enterprise.yaml")
    [res] = synth(lb, [lb.envs["dev"]], tmp_path_factory.mktemp("risk"), DeploySettings())
    return json.loads(res.json_path.read_text())


def configs(doc: dict) -> dict[str, dict]:
    """Endpoint configurations by their endpoint's logical name."""
    return {
        k.split("_")[1].removesuffix("-config"): v
        for k, v in resources(doc, "aws_sagemaker_endpoint_configuration").items()
    }


@pytest.mark.parametrize(
    "machine_type, local",
    [
        ("ml.g5.xlarge", True),
        ("ml.g5.2xlarge", True),
        ("ml.g4dn.xlarge", True),
        ("ml.p4d.24xlarge", True),
        ("ml.g6e.xlarge", True),
        ("ml.m5d.large", True),
        ("ml.m5.xlarge", False),
        ("ml.m5.4xlarge", False),
        ("ml.c5.xlarge", False),
        ("ml.inf2.xlarge", False),
        ("ml.g5", False),  # a family without a size is no instance type
        ("", False),
    ],
)
def test_the_catalog_knows_which_instance_types_have_local_storage(machine_type, local):
    assert CATALOG.has_instance_storage(machine_type) is local


def test_the_gpu_sizes_and_only_they_have_local_storage():
    sizes = sorted(size for size, t in CATALOG.serving.items() if CATALOG.has_instance_storage(t))
    assert sizes == ["gpu-medium", "gpu-small"]


def test_an_instance_store_endpoint_has_no_storage_key_and_keeps_the_capture_key(risk_dev):
    got = configs(risk_dev)
    assert sorted(got) == ["aml-scoring", "credit-risk"]
    gpu, cpu = got["aml-scoring"], got["credit-risk"]
    assert gpu["production_variants"][0]["instance_type"] == "ml.g5.xlarge"
    assert "kms_key_arn" not in gpu
    assert gpu["data_capture_config"]["kms_key_id"] == ML_KEY
    assert cpu["production_variants"][0]["instance_type"] == "ml.m5.4xlarge"
    assert cpu["kms_key_arn"] == ML_KEY and cpu["data_capture_config"]["kms_key_id"] == ML_KEY


def test_the_execution_role_may_make_the_models_network_interfaces(risk_dev):
    roles = {k: r for k, r in resources(risk_dev, "aws_iam_role").items() if k.startswith("serving_execution-role")}
    [(role_key, _)] = roles.items()
    policies = [
        json.loads(p["policy"])
        for p in resources(risk_dev, "aws_iam_role_policy").values()
        if p["role"] == f"${{aws_iam_role.{role_key}.id}}" or p["role"] == f"${{aws_iam_role.{role_key}.name}}"
    ]
    ec2 = [s for doc in policies for s in doc["Statement"] if any(a.startswith("ec2:") for a in s["Action"])]
    assert ec2 == [
        {
            "Effect": "Allow",
            "Action": sorted(
                [
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ]
            ),
            "Resource": ["*"],
            "Sid": "ModelNetworkInterfacesInTheVpc",
        }
    ]
    assert len(VPC_ACTIONS) == 9
    # Every model runs in the VPC, which is why the role needs them.
    for model in resources(risk_dev, "aws_sagemaker_model").values():
        assert model["vpc_config"]["subnets"] and model["execution_role_arn"] == f"${{aws_iam_role.{role_key}.arn}}"


def test_the_workload_group_reaches_s3_by_its_prefix_list_and_nothing_else_is_opened(risk_dev):
    [sg] = [g for k, g in resources(risk_dev, "aws_security_group").items() if k.startswith("baseline_workload-sg")]
    assert "ingress" not in sg or not sg["ingress"]
    egress = sorted(sg["egress"], key=lambda r: r["description"])
    assert [(r["from_port"], r["to_port"], r["protocol"]) for r in egress] == [(443, 443, "tcp")] * 2
    s3, vpc = egress
    assert s3["description"] == "HTTPS to S3 through the gateway endpoint" and s3["cidr_blocks"] is None
    [(pl_key, pl)] = risk_dev["data"]["aws_prefix_list"].items()
    assert s3["prefix_list_ids"] == [f"${{data.aws_prefix_list.{pl_key}.id}}"]
    assert pl["name"] == "com.amazonaws.eu-central-1.s3"
    assert vpc["cidr_blocks"] == ["10.60.0.0/16"] and vpc["prefix_list_ids"] is None
    # The prefix list is the one the gateway endpoint serves (same service name).
    gateways = [e for e in resources(risk_dev, "aws_vpc_endpoint").values() if e["vpc_endpoint_type"] == "Gateway"]
    assert [g["service_name"] for g in gateways] == [pl["name"]]
