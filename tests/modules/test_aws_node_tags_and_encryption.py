"""The GPU pools' Auto Mode NodeClasses carry the environment's standard tags and encrypt the nodes'
ephemeral storage with the environment's `ml` key; the cloud stack gives the cluster role what AWS documents
for both:

- tags: the NodeClass `spec.tags` are the provider's default_tags (stacks/aws/stack.py `tags_for`), so
  instances, volumes and ENIs Auto Mode launches carry them; the cluster role gets AWS's `Compute` and
  `Networking` custom-tag statements (https://docs.aws.amazon.com/eks/latest/userguide/auto-cluster-iam-role.html#tag-prop),
  and nothing more;
- encryption: `ephemeralStorage.kmsKeyID` is the `ml` key read by its alias; that key's policy lets the
  cluster role use the key and create grants for AWS resources only
  (https://docs.aws.amazon.com/eks/latest/userguide/auto-kms.html); the other keys do not name it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.modules.cluster.aws import (
    RESERVED_TAG_KEYS,
    RESERVED_TAG_PREFIXES,
    NodeClassNetwork,
    check_node_class_tags,
    node_class,
)
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT
from tests.modules.conftest import resources

STARTER = ROOT / "blueprints" / "reference" / "starter.yaml"
SCHEMA = ROOT / "tests" / "schemas" / "crds" / "eks.amazonaws.com_NodeClass_v1.json"
NETWORK = NodeClassNetwork(role="nodes", subnet_terms=[{"id": "subnet-0a1"}], security_group_id="sg-0f1")
KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d"
# What IAM must receive (a policy variable); the synthesized JSON holds Terraform's escape `$${` for it.
PRINCIPAL_CLUSTER_NAME = "${aws:PrincipalTag/eks:eks-cluster-name}"
CUSTOM_TAGS = {
    "Compute": {
        "Effect": "Allow",
        "Action": ["ec2:CreateFleet", "ec2:RunInstances", "ec2:CreateLaunchTemplate"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:RequestTag/eks:eks-cluster-name": PRINCIPAL_CLUSTER_NAME},
            "StringLike": {
                "aws:RequestTag/eks:kubernetes-node-class-name": "*",
                "aws:RequestTag/eks:kubernetes-node-pool-name": "*",
            },
        },
    },
    "Networking": {
        "Effect": "Allow",
        "Action": ["ec2:CreateNetworkInterface"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:RequestTag/eks:eks-cluster-name": PRINCIPAL_CLUSTER_NAME},
            "StringLike": {"aws:RequestTag/eks:kubernetes-cni-node-name": "*"},
        },
    },
}
KEY_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
KEY_GRANTS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]


@pytest.fixture(scope="module")
def starter(tmp_path_factory) -> dict[str, tuple[dict, dict]]:
    """env -> (cloud stack, cluster stack) of the starter blueprint."""
    lb = load(STARTER)
    out = tmp_path_factory.mktemp("starter")
    return {
        r.env: (json.loads(r.json_path.read_text()), json.loads(r.cluster.json_path.read_text()))
        for r in synth(lb, lb.select(None), out, DeploySettings())
        if r.cluster
    }


def _node_classes(doc: dict) -> list[dict]:
    return [
        b["manifest"] for b in resources(doc, "kubernetes_manifest").values() if b["manifest"]["kind"] == "NodeClass"
    ]


def _ref(address: str) -> str:
    """`${aws_iam_role.x.arn}` -> `aws_iam_role.x`."""
    m = re.fullmatch(r"\$\{([a-z0-9_]+\.[^.}]+)\.[a-z_]+\}", address)
    assert m, address
    return m.group(1)


def _cluster_role(cloud: dict) -> str:
    """The address of the role the EKS cluster runs as (its role_arn)."""
    [cluster] = resources(cloud, "aws_eks_cluster").values()
    role = _ref(cluster["role_arn"])
    assert role.startswith("aws_iam_role."), role
    return role


def _key_policies(cloud: dict) -> dict[str, dict]:
    """alias name -> the policy of the key it targets."""
    keys = resources(cloud, "aws_kms_key")
    out = {}
    for alias in resources(cloud, "aws_kms_alias").values():
        key = _ref(alias["target_key_id"]).split(".", 1)[1]
        out[alias["name"]] = json.loads(keys[key]["policy"])
    return out


def test_node_class_tags_are_the_environments_default_tags(starter):
    for env, (cloud, cluster) in starter.items():
        default_tags = cloud["provider"]["aws"][0]["default_tags"][0]["tags"]
        assert default_tags["mlops:environment"] == env
        assert cluster["provider"]["aws"][0]["default_tags"][0]["tags"] == default_tags
        [nc] = _node_classes(cluster)
        assert nc["spec"]["tags"] == default_tags, env


def _crd_tag_rule(rule: str):
    """The NodeClass CRD's tag rules (CEL) as Python predicates on a key. Only the forms the vendored
    schema uses; a new form fails here, so that a schema refresh cannot skip a rule unnoticed."""
    if rule == "self.all(k, k != '')":
        return lambda k: k != ""
    m = re.fullmatch(r"self\.all\(k, !k\.startsWith\('([^']+)'\) ?\)", rule)
    if m:
        return lambda k, p=m.group(1): not k.startswith(p)
    m = re.fullmatch(r"self\.all\(k, k ?!= ?'([^']+)'\)", rule)
    if m:
        return lambda k, v=m.group(1): k != v
    raise AssertionError(f"a NodeClass tag rule of a form this test does not know: {rule}")


def _crd_tag_rules() -> list[tuple[str, str]]:
    schema = json.loads(SCHEMA.read_text())
    return [
        (r["rule"], r["message"])
        for r in schema["properties"]["spec"]["properties"]["tags"]["x-kubernetes-validations"]
    ]


def test_the_tags_pass_the_node_class_crds_tag_rules(starter):
    rules = _crd_tag_rules()
    assert len(rules) >= 7  # empty keys, kubernetes.io/cluster/*, four karpenter.sh keys, eks.amazonaws.com/nodeclass
    for env, (_, cluster) in starter.items():
        [nc] = _node_classes(cluster)
        for rule, message in rules:
            check = _crd_tag_rule(rule)
            assert all(check(k) for k in nc["spec"]["tags"]), (env, message)


def test_every_key_the_crd_restricts_is_refused_before_synthesis():
    """A key the API server would refuse (and so fail the cluster stack's apply) is a ValueError naming it."""
    refused = []
    for rule, _ in _crd_tag_rules():
        for value in re.findall(r"'([^']+)'", rule):
            key = value if "startsWith" not in rule else value + "/starter"
            refused.append(key)
    assert "kubernetes.io/cluster/starter" in refused and "karpenter.sh/nodepool" in refused
    refused += ["aws:cloudformation:stack-name", "eks:eks-cluster-name", ""]
    for key in refused:
        with pytest.raises(ValueError, match="NodeClass tag key"):
            node_class(200, network=NETWORK, labels={}, tags={"owner": "me", key: "x"}, kms_key_id=KEY_ARN)
    # the module's own list says the same (the message names it)
    assert {k for k in refused if k in RESERVED_TAG_KEYS or k.startswith(RESERVED_TAG_PREFIXES)} == set(refused) - {""}
    check_node_class_tags({"mlops:environment": "dev", "cost-center": "cc-1234", "owner": "a@example.com"})
    with pytest.raises(ValueError, match="at most 256"):
        check_node_class_tags({"owner": "x" * 257})


def test_the_key_is_one_of_the_documented_forms():
    for good in (
        KEY_ARN,
        "1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d",
        "alias/starter-dev-ml",
        "arn:aws:kms:eu-central-1:123456789012:alias/starter-dev-ml",
        "${data.aws_kms_key.node-volume-key.arn}",
    ):
        spec = node_class(200, network=NETWORK, labels={}, tags={}, kms_key_id=good)["spec"]
        assert spec["ephemeralStorage"]["kmsKeyID"] == good
    for bad in ("", "starter-dev-ml", "arn:aws:kms:eu-central-1:123456789012:key/", "aws/ebs"):
        with pytest.raises(ValueError, match="no KMS key id, key ARN, alias name or alias ARN"):
            node_class(200, network=NETWORK, labels={}, tags={}, kms_key_id=bad)


def test_the_node_class_encrypts_with_the_ml_key_read_by_its_alias(starter):
    for env, (cloud, cluster) in starter.items():
        [nc] = _node_classes(cluster)
        assert nc["spec"]["ephemeralStorage"]["kmsKeyID"] == "${data.aws_kms_key.node-volume-key.arn}"
        alias = cluster["data"]["aws_kms_key"]["node-volume-key"]["key_id"]
        assert alias == f"alias/starter-{env}-ml"
        assert alias in _key_policies(cloud)  # the cloud stack makes that alias


def test_the_cluster_role_has_the_documented_custom_tag_statements_and_no_more(starter):
    for env, (cloud, _) in starter.items():
        role = _cluster_role(cloud)
        inline = [p for p in resources(cloud, "aws_iam_role_policy").values() if _ref(p["role"]) == role]
        assert len(inline) == 1, env  # the cluster role's only inline policy
        statements = json.loads(inline[0]["policy"].replace("$${", "${"))["Statement"]
        assert {s["Sid"]: {k: v for k, v in s.items() if k != "Sid"} for s in statements} == CUSTOM_TAGS, env
        # no tag permission without the cluster-name condition, and none of AWS's other custom-tag statements
        # (Storage, LoadBalancer, Shield): the platform tags no StorageClass, Ingress or Service
        actions = {a for s in statements for a in s["Action"]}
        assert not actions & {"ec2:CreateTags", "ec2:CreateVolume", "ec2:CreateSnapshot", "shield:CreateProtection"}
        assert all(s["Condition"]["StringEquals"] for s in statements)


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_hands_iam_the_policy_variable_not_an_interpolation(starter, tmp_path: Path):
    """The synthesized policy escapes `${aws:PrincipalTag/...}` as `$${...}`; Terraform turns it back into
    the literal IAM reads (unescaped, Terraform would fail on an unknown reference)."""
    cloud, _ = starter["dev"]
    role = _cluster_role(cloud)
    [policy] = [p["policy"] for p in resources(cloud, "aws_iam_role_policy").values() if _ref(p["role"]) == role]
    assert "$${aws:PrincipalTag/eks:eks-cluster-name}" in policy
    (tmp_path / "main.tf.json").write_text(json.dumps({"output": {"policy": {"value": policy}}}))
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path), "CHECKPOINT_DISABLE": "1"}
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        p = subprocess.run(["terraform", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
    out = subprocess.run(
        ["terraform", "output", "-raw", "policy"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    compute = {s["Sid"]: s for s in json.loads(out.stdout)["Statement"]}["Compute"]
    assert compute["Condition"]["StringEquals"]["aws:RequestTag/eks:eks-cluster-name"] == PRINCIPAL_CLUSTER_NAME


def test_the_ml_key_policy_lets_the_cluster_role_encrypt_node_volumes(starter):
    for env, (cloud, _) in starter.items():
        role_arn = "${" + _cluster_role(cloud) + ".arn}"
        policies = _key_policies(cloud)
        ml = policies[f"alias/starter-{env}-ml"]["Statement"]
        naming_role = [s for s in ml if s.get("Principal") == {"AWS": role_arn}]
        assert naming_role == [
            {
                "Sid": "EksAutoModeNodeVolumesUse",
                "Effect": "Allow",
                "Principal": {"AWS": role_arn},
                "Action": KEY_USE,
                "Resource": "*",
            },
            {
                "Sid": "EksAutoModeNodeVolumesGrants",
                "Effect": "Allow",
                "Principal": {"AWS": role_arn},
                "Action": KEY_GRANTS,
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ], env
        assert ml[0]["Sid"] == "AccountAdministers"  # the key's own statement is kept, first
        # the lake's and the operations' keys do not name the cluster role
        for alias, policy in policies.items():
            if alias != f"alias/starter-{env}-ml":
                assert role_arn not in json.dumps(policy), alias
