"""Objects without a name that a killed `up` made but never recorded (scripts/glue/aws_untracked.py),
against a real emulator process: found by the environment's tags, removed in order in the emulator,
only listed on a cloud; recorded objects and other environments' objects are never touched."""

from __future__ import annotations

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.scripts.glue.aws_untracked import find_with, recorded_ids, sweep_with
from tests.conftest import ROOT


def tags(env: str = "dev", blueprint: str = "starter") -> list[dict]:
    return [{"Key": "mlops:blueprint", "Value": blueprint}, {"Key": "mlops:environment", "Value": env}]


def spec(kind: str, env: str = "dev") -> list[dict]:
    return [{"ResourceType": kind, "Tags": tags(env)}]


def a_vpc(ec2, cidr: str, env: str | None = "dev") -> dict:
    """A VPC as the baseline makes one: a subnet, a route table associated with it, a security group,
    an interface endpoint and a flow log, all tagged (when `env`) like the provider's default_tags."""

    def tagged(kind: str) -> dict:
        return {"TagSpecifications": spec(kind, env)} if env else {}

    vpc = ec2.create_vpc(CidrBlock=cidr, **tagged("vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("/16", "/24"), **tagged("subnet"))["Subnet"][
        "SubnetId"
    ]
    table = ec2.create_route_table(VpcId=vpc, **tagged("route-table"))["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    group = ec2.create_security_group(VpcId=vpc, GroupName="endpoints", Description="x", **tagged("security-group"))
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName="com.amazonaws.eu-central-1.sts",
        VpcEndpointType="Interface",
        SubnetIds=[subnet],
        **tagged("vpc-endpoint"),
    )["VpcEndpoint"]["VpcEndpointId"]
    flows = ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::flows",
        **tagged("vpc-flow-log"),
    )
    assert not flows["Unsuccessful"], flows["Unsuccessful"]
    flow = flows["FlowLogIds"][0]
    return {"vpc": vpc, "subnet": subnet, "table": table, "group": group["GroupId"], "endpoint": endpoint, "flow": flow}


def state_of(*ids: str) -> dict:
    """A `terraform show -json` state holding these ids, one in a child module."""
    *top, last = ids
    return {
        "values": {
            "root_module": {
                "resources": [{"address": f"x.r{i}", "values": {"id": v}} for i, v in enumerate(top)],
                "child_modules": [{"resources": [{"address": "module.m.x.y", "values": {"id": last}}]}],
            }
        }
    }


@pytest.fixture
def env(aws):
    s3 = aws("s3")  # the flow logs' bucket, in this module's emulator
    if "flows" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="flows", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    return load(ROOT / "blueprints/reference/starter.yaml").envs["dev"]


def test_recorded_ids_reads_every_value_of_both_state_formats():
    state = state_of("vpc-1", "key-2")  # `show -json`: ids in root and child modules
    state["values"]["root_module"]["resources"].append({"values": {"arn": "arn:aws:kms:x", "vpc_id": "vpc-9"}})
    assert {"vpc-1", "key-2", "arn:aws:kms:x", "vpc-9"} <= recorded_ids(state)
    pulled = {  # `terraform state pull`: instances' attributes, ids under any attribute name
        "version": 4,
        "resources": [{"type": "aws_flow_log", "instances": [{"attributes": {"id": "fl-1", "vpc_id": "vpc-2"}}]}],
    }
    assert {"fl-1", "vpc-2"} <= recorded_ids(pulled)
    assert "vpc-3" not in recorded_ids(pulled)
    assert recorded_ids(None) == set() and recorded_ids({}) == set()


def test_untracked_objects_are_found_in_order_and_removed_and_nothing_else_is(aws, env):
    ec2, kms = aws("ec2"), aws("kms")
    kept = a_vpc(ec2, "10.10.0.0/16")  # the environment's recorded VPC
    orphan = a_vpc(ec2, "10.20.0.0/16")  # what a killed run left behind
    foreign = a_vpc(ec2, "10.30.0.0/16", env=None)  # someone else's, untagged
    prod = a_vpc(ec2, "10.40.0.0/16", env="prod")  # another environment's
    key = kms.create_key(
        Description="starter-dev data encryption", Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags()]
    )
    lost_key = kms.create_key(
        Description="starter-dev data encryption", Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags()]
    )
    prod_key = kms.create_key(Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags("prod")])
    recorded = state_of(*kept.values(), key["KeyMetadata"]["Arn"])

    found = find_with(env, aws, recorded_ids(recorded))
    assert [(u.kind, u.id) for u in found] == [
        ("flow log", orphan["flow"]),
        ("VPC endpoint", orphan["endpoint"]),
        ("route table", orphan["table"]),
        ("subnet", orphan["subnet"]),
        ("security group", orphan["group"]),
        ("VPC", orphan["vpc"]),
        ("KMS key", lost_key["KeyMetadata"]["KeyId"]),
    ]

    said: list[str] = []
    listed = sweep_with(env, aws, recorded, said.append, delete=False)  # a cloud: listed, nothing deleted
    assert [str(u) for u in listed] == [str(u) for u in found] and said == []
    assert orphan["vpc"] in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]

    sweep_with(env, aws, recorded, said.append, delete=True)  # the emulator: removed, each reported
    assert len(said) == len(found) and said[-2].startswith(f"removed untracked VPC {orphan['vpc']}")
    vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    assert orphan["vpc"] not in vpcs and {kept["vpc"], foreign["vpc"], prod["vpc"]} <= vpcs
    subnets = {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
    assert orphan["subnet"] not in subnets and {kept["subnet"], foreign["subnet"], prod["subnet"]} <= subnets
    flows = {f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"]}
    assert orphan["flow"] not in flows and {kept["flow"], foreign["flow"], prod["flow"]} <= flows
    assert kms.describe_key(KeyId=lost_key["KeyMetadata"]["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert kms.describe_key(KeyId=key["KeyMetadata"]["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.describe_key(KeyId=prod_key["KeyMetadata"]["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    assert find_with(env, aws, recorded_ids(recorded)) == []  # converged: a second sweep finds nothing


def test_nothing_is_removed_while_another_run_holds_the_state_lock(aws, env):
    """A run applying right now holds `<key>.tflock`; what it made but has not saved yet is not ours to
    remove. The sweep reports it and leaves every object."""
    ec2, s3 = aws("ec2"), aws("s3")
    lost = a_vpc(ec2, "10.60.0.0/16")
    s3.create_bucket(Bucket="state-lock-test", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    backend = {"s3": {"bucket": "state-lock-test", "key": "starter/dev/terraform.tfstate", "use_lockfile": True}}
    s3.put_object(Bucket="state-lock-test", Key="starter/dev/terraform.tfstate.tflock", Body=b"{}")
    said: list[str] = []
    found = sweep_with(env, aws, None, said.append, delete=True, backend=backend)
    assert lost["vpc"] in {u.id for u in found}
    assert said == [
        f"{len(found)} untracked object(s) left alone: another run holds the state lock "
        "s3://state-lock-test/starter/dev/terraform.tfstate.tflock"
    ]
    assert lost["vpc"] in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    s3.delete_object(Bucket="state-lock-test", Key="starter/dev/terraform.tfstate.tflock")
    sweep_with(env, aws, None, said.append, delete=True, backend=backend)  # the lock released: removed
    assert lost["vpc"] not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}


def test_after_a_destroy_everything_left_with_the_tags_is_untracked(aws, env):
    ec2 = aws("ec2")
    left = a_vpc(ec2, "10.50.0.0/16")
    found = {u.id for u in find_with(env, aws, recorded_ids(None))}
    assert set(left.values()) <= found
