"""Each shim, called through boto3 against a real emulator process, as the AWS provider calls it."""

import pytest
from botocore.exceptions import ClientError

from mlops_blueprint.scripts import emulator as emu
from mlops_blueprint.scripts.emulator_shims import SHIMS


def test_every_shim_is_documented_in_the_readme():
    from tests.conftest import ROOT

    readme = (ROOT / "docs" / "proof.md").read_text()  # "What the emulator does not cover", linked from the README
    for name in SHIMS:
        assert name in readme, f"shim {name} is not listed in docs/proof.md's emulator section"


def test_emulator_is_reused_and_a_taken_port_is_refused(emulator):
    again, started = emu.start()
    assert (again.port, started) == (emulator.port, False)
    with pytest.raises(emu.EmulatorError, match="already runs on port"):
        emu.start(port=emulator.port + 1 if emulator.port < 65535 else 1024)


def test_port_in_use_by_another_program(tmp_path, monkeypatch):
    import socket

    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))  # no emulator recorded here
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(emu.EmulatorError, match=f"port {port} on 127.0.0.1 is already in use"):
            emu.start(port=port)


def test_managed_policies_are_attachable(aws):
    iam = aws("iam")
    iam.create_role(RoleName="r1", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="r1", PolicyArn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
    names = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="r1")["AttachedPolicies"]]
    assert names == ["AmazonEKSClusterPolicy"]


def test_delete_model_package_group(aws):
    sm = aws("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="g1")
    sm.delete_model_package_group(ModelPackageGroupName="g1")
    assert [g["ModelPackageGroupName"] for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]] == []
    with pytest.raises(ClientError):
        sm.delete_model_package_group(ModelPackageGroupName="g1")


def _version(sm, group: str) -> str:
    return sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "img"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]


def test_a_group_that_holds_versions_is_not_deleted_until_its_versions_are(aws):
    """As on AWS: DeleteModelPackageGroup is refused (ConflictException) while versions remain;
    DeleteModelPackage (moto lacks it) removes a version by ARN, then the group goes."""
    sm = aws("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="g-held")
    arns = [_version(sm, "g-held"), _version(sm, "g-held")]
    with pytest.raises(ClientError) as refused:
        sm.delete_model_package_group(ModelPackageGroupName="g-held")
    assert refused.value.response["Error"]["Code"] == "ConflictException"
    assert "contains 2 model package(s)" in str(refused.value)
    sm.delete_model_package(ModelPackageName=arns[0])
    listed = sm.list_model_packages(ModelPackageGroupName="g-held")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [arns[1]]
    with pytest.raises(ClientError, match="not found"):
        sm.describe_model_package(ModelPackageName=arns[0])
    with pytest.raises(ClientError):
        sm.delete_model_package_group(ModelPackageGroupName="g-held")
    sm.delete_model_package(ModelPackageName=arns[1])
    with pytest.raises(ClientError, match="not found"):
        sm.delete_model_package(ModelPackageName=arns[1])
    sm.delete_model_package_group(ModelPackageGroupName="g-held")
    groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert "g-held" not in [g["ModelPackageGroupName"] for g in groups]


def test_gpu_serving_instance_types_and_network_isolation(aws):
    sm = aws("sagemaker")
    sm.create_model(
        ModelName="m1",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
        PrimaryContainer={"Image": "img"},
        EnableNetworkIsolation=True,
    )
    assert sm.describe_model(ModelName="m1")["EnableNetworkIsolation"] is True
    sm.create_endpoint_config(
        EndpointConfigName="c1",
        ProductionVariants=[
            {"VariantName": "primary", "ModelName": "m1", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}
        ],
    )
    assert (
        sm.describe_endpoint_config(EndpointConfigName="c1")["ProductionVariants"][0]["InstanceType"] == "ml.g5.xlarge"
    )
    with pytest.raises(ClientError, match="instanceType"):
        sm.create_endpoint_config(
            EndpointConfigName="c2",
            ProductionVariants=[
                {
                    "VariantName": "primary",
                    "ModelName": "m1",
                    "InstanceType": "ml.bogus.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )


def test_application_autoscaling_tags(aws):
    aas = aws("application-autoscaling")
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/e1/variant/primary",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=2,
        Tags={"team": "ml"},
    )
    arn = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"][0]["ScalableTargetARN"]
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "ml"}
    aas.tag_resource(ResourceARN=arn, Tags={"env": "dev"})
    aas.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"env": "dev"}


def test_budget_subscribers_and_tags(aws):
    b = aws("budgets", region="us-east-1")
    note = {
        "NotificationType": "FORECASTED",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": 80.0,
        "ThresholdType": "PERCENTAGE",
    }
    b.create_budget(
        AccountId="123456789012",
        Budget={
            "BudgetName": "b1",
            "BudgetLimit": {"Amount": "10", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
        },
        NotificationsWithSubscribers=[
            {"Notification": note, "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "a@example.com"}]}
        ],
        ResourceTags=[{"Key": "owner", "Value": "ml"}],
    )
    subs = b.describe_subscribers_for_notification(AccountId="123456789012", BudgetName="b1", Notification=note)
    assert subs["Subscribers"] == [{"SubscriptionType": "EMAIL", "Address": "a@example.com"}]
    tags = b.list_tags_for_resource(ResourceARN="arn:aws:budgets::123456789012:budget/b1")["ResourceTags"]
    assert tags == [{"Key": "owner", "Value": "ml"}]


def test_budget_update_replaces_the_budget_and_keeps_its_notifications(aws):
    """UpdateBudget: terraform updates a budget in place (one adopted after a killed run, a changed
    limit); moto answered it with a 500."""
    from botocore.exceptions import ClientError

    b = aws("budgets", region="us-east-1")
    spec = {
        "BudgetName": "b2",
        "BudgetLimit": {"Amount": "10.0", "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
    }
    note = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 90.0}
    b.create_budget(
        AccountId="123456789012",
        Budget=spec,
        NotificationsWithSubscribers=[
            {"Notification": note, "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "a@example.com"}]}
        ],
    )
    b.update_budget(AccountId="123456789012", NewBudget={**spec, "BudgetLimit": {"Amount": "5000.0", "Unit": "USD"}})
    budget = b.describe_budget(AccountId="123456789012", BudgetName="b2")["Budget"]
    assert budget["BudgetLimit"] == {"Amount": "5000.0", "Unit": "USD"} and "TimePeriod" in budget
    subs = b.describe_subscribers_for_notification(AccountId="123456789012", BudgetName="b2", Notification=note)
    assert subs["Subscribers"] == [{"SubscriptionType": "EMAIL", "Address": "a@example.com"}]
    with pytest.raises(ClientError, match="NotFoundException"):
        b.update_budget(AccountId="123456789012", NewBudget={**spec, "BudgetName": "missing"})


def test_lake_formation_revoke_matches_and_then_reports_nothing_left(aws):
    lf = aws("lakeformation")
    principal = {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:role/r"}
    lf.grant_permissions(Principal=principal, Resource={"Database": {"Name": "db1"}}, Permissions=["DESCRIBE"])
    lf.revoke_permissions(
        Principal=principal,
        Resource={"Database": {"Name": "db1", "CatalogId": "123456789012"}},
        Permissions=["DESCRIBE"],
    )
    assert (
        lf.list_permissions(Principal=principal, Resource={"Database": {"Name": "db1"}})["PrincipalResourcePermissions"]
        == []
    )
    with pytest.raises(ClientError, match="No permissions revoked"):
        lf.revoke_permissions(Principal=principal, Resource={"Database": {"Name": "db1"}}, Permissions=["DESCRIBE"])


def test_node_groups_get_no_invented_ssh_key(aws):
    eks = aws("eks")
    eks.create_cluster(
        name="c1", roleArn="arn:aws:iam::123456789012:role/x", resourcesVpcConfig={"subnetIds": ["subnet-1"]}
    )
    eks.create_nodegroup(
        clusterName="c1",
        nodegroupName="n1",
        subnets=["subnet-1"],
        nodeRole="arn:aws:iam::123456789012:role/x",
        diskSize=50,
    )
    assert not eks.describe_nodegroup(clusterName="c1", nodegroupName="n1")["nodegroup"].get("remoteAccess")


def test_update_endpoint_takes_the_new_configuration(aws):
    sm = aws("sagemaker")
    sm.create_model(
        ModelName="u1", ExecutionRoleArn="arn:aws:iam::123456789012:role/x", PrimaryContainer={"Image": "img"}
    )
    for name, variants in (("cfg-a", [("primary", 1.0)]), ("cfg-b", [("primary", 80.0), ("canary", 20.0)])):
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": v,
                    "ModelName": "u1",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                    "InitialVariantWeight": w,
                }
                for v, w in variants
            ],
        )
    sm.create_endpoint(EndpointName="e-upd", EndpointConfigName="cfg-a")
    arn = sm.update_endpoint(EndpointName="e-upd", EndpointConfigName="cfg-b")["EndpointArn"]
    ep = sm.describe_endpoint(EndpointName="e-upd")
    assert ep["EndpointArn"] == arn and ep["EndpointConfigName"] == "cfg-b"
    assert {v["VariantName"]: v["CurrentWeight"] for v in ep["ProductionVariants"]} == {"primary": 80.0, "canary": 20.0}
    with pytest.raises(ClientError, match="Could not find endpoint configuration"):
        sm.update_endpoint(EndpointName="e-upd", EndpointConfigName="missing")


def test_a_cluster_gets_the_security_group_eks_makes_and_loses_it_with_the_cluster(aws):
    """The API's ingress rules (baseline.network.operator_cidrs and the platform network) go on the
    cluster security group EKS makes; moto made none, so the shim does, in the subnets' VPC."""
    ec2, eks = aws("ec2"), aws("eks")
    vpc = ec2.create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.61.1.0/24")["Subnet"]["SubnetId"]
    eks.create_cluster(
        name="sg1", roleArn="arn:aws:iam::123456789012:role/x", resourcesVpcConfig={"subnetIds": [subnet]}
    )
    config = eks.describe_cluster(name="sg1")["cluster"]["resourcesVpcConfig"]
    [group] = ec2.describe_security_groups(GroupIds=[config["clusterSecurityGroupId"]])["SecurityGroups"]
    assert group["VpcId"] == vpc == config["vpcId"] and group["GroupName"].startswith("eks-cluster-sg-sg1-")
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.61.0.0/16"}]}],
    )
    ec2.revoke_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.61.0.0/16"}]}],
    )
    eks.delete_cluster(name="sg1")
    left = [
        g["GroupId"]
        for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    ]
    assert group["GroupId"] not in left
