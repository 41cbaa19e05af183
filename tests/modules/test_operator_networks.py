"""`baseline.network.operator_cidrs`: who reaches the private cluster API besides the platform network.
EKS's cluster security group admits only itself and GKE's private endpoint only its authorized networks,
so a deploy of the cluster stack (or kubectl) from a runner's subnet, a VPN or a peered network needs
them named."""

from __future__ import annotations

import json

import pytest

from mlops_blueprint.blueprints import BlueprintError, load
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import MINIMAL
from tests.modules.conftest import resources

OPERATORS = "baseline:\n  network: {cidr: 10.40.0.0/16, operator_cidrs: [192.168.10.0/24, 172.20.0.0/16]}\n"
GCP = "target: {cloud: gcp, region: europe-west4, project_id: acme-ml-dev}"


def blueprint(target: str | None = None) -> str:
    text = MINIMAL.replace("environments:\n", OPERATORS + "environments:\n")
    if target:
        text = text.replace("target: {cloud: aws, region: eu-central-1}", target).replace("nvidia-a10g", "nvidia-l4")
    return text


def synthesized(write, tmp_path, text: str) -> dict:
    lb = load(write(text))
    [r] = synth(lb, lb.select(None), tmp_path / "out", DeploySettings())
    return json.loads(r.json_path.read_text())


def test_aws_opens_the_cluster_api_to_the_platform_and_the_operator_networks(write, tmp_path):
    doc = synthesized(write, tmp_path, blueprint())
    [cluster] = resources(doc, "aws_eks_cluster")
    rules = resources(doc, "aws_vpc_security_group_ingress_rule").values()
    assert sorted(r["cidr_ipv4"] for r in rules) == ["10.40.0.0/16", "172.20.0.0/16", "192.168.10.0/24"]
    for r in rules:
        assert (r["ip_protocol"], r["from_port"], r["to_port"]) == ("tcp", 443, 443)
        assert r["security_group_id"] == "${aws_eks_cluster." + cluster + ".vpc_config[0].cluster_security_group_id}"


def test_gcp_authorizes_the_operator_networks_on_the_control_plane(write, tmp_path):
    doc = synthesized(write, tmp_path, blueprint(GCP))
    [cluster] = resources(doc, "google_container_cluster").values()
    blocks = cluster["master_authorized_networks_config"]["cidr_blocks"]
    assert [b["cidr_block"] for b in blocks] == ["10.40.0.0/16", "192.168.10.0/24", "172.20.0.0/16"]


@pytest.mark.parametrize(
    ("cidr", "said"),
    [
        ("0.0.0.0/0", "is every address"),
        ("192.168.10.1/24", "host bits"),
        ("192.168.300.0/24", "Octet 300"),
    ],
)
def test_an_operator_network_that_is_not_one_is_refused_at_its_line(write, cidr, said):
    text = MINIMAL.replace(
        "environments:\n", f"baseline:\n  network:\n    operator_cidrs: ['{cidr}']\n" + "environments:\n"
    )
    with pytest.raises(BlueprintError) as exc:
        load(write(text))
    [p] = exc.value.problems
    assert p.path == "baseline.network.operator_cidrs[0]" and p.line == 16 and said in p.message
