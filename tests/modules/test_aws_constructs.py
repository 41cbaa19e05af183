"""Synth tests: every AWS construct, asserted by its resources and their properties."""

import json

import pytest

from tests.modules.conftest import one, resources


def test_lake_bucket_per_zone_is_encrypted_versioned_private_tls_only(starter):
    dev = starter["dev"]
    names = sorted(r["bucket"] for r in resources(dev, "aws_s3_bucket").values())
    assert names == [
        "starter-dev-audit-logs",
        "starter-dev-curated",
        "starter-dev-features",
        "starter-dev-inference-capture",
        "starter-dev-model-artifacts",
        "starter-dev-raw",
    ]
    sse = resources(dev, "aws_s3_bucket_server_side_encryption_configuration")
    assert len(sse) == 6  # five data buckets and the audit log bucket
    for r in sse.values():
        default = r["rule"][0]["apply_server_side_encryption_by_default"]
        assert default["sse_algorithm"] == "aws:kms" and "aws_kms_key.baseline_key-" in default["kms_master_key_id"]
    assert all(
        r["versioning_configuration"]["status"] == "Enabled"
        for r in resources(dev, "aws_s3_bucket_versioning").values()
    )
    for r in resources(dev, "aws_s3_bucket_public_access_block").values():
        assert (
            r["block_public_acls"],
            r["block_public_policy"],
            r["ignore_public_acls"],
            r["restrict_public_buckets"],
        ) == (True,) * 4
    for r in resources(dev, "aws_s3_bucket_policy").values():
        st = json.loads(r["policy"])["Statement"][0]
        assert st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_raw_zone_retention_becomes_an_expiration_rule(starter):
    rules = {k: r["rule"][0] for k, r in resources(starter["dev"], "aws_s3_bucket_lifecycle_configuration").items()}
    raw = next(v for k, v in rules.items() if k.startswith("data_lake_raw"))
    curated = next(v for k, v in rules.items() if k.startswith("data_lake_curated"))
    assert raw["expiration"] == [{"days": 365}]
    assert "expiration" not in curated
    assert curated["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]


def test_protection_follows_the_environment(starter):
    dev_bucket = next(iter(resources(starter["dev"], "aws_s3_bucket").values()))
    prod_bucket = next(iter(resources(starter["prod"], "aws_s3_bucket").values()))
    assert dev_bucket["force_destroy"] is True and "lifecycle" not in dev_bucket
    assert prod_bucket["force_destroy"] is False and prod_bucket["lifecycle"] == {"prevent_destroy": True}
    for rtype in (
        "aws_kms_key",
        "aws_ecr_repository",
        "aws_sagemaker_model_package_group",
        "aws_glue_catalog_database",
    ):
        for r in resources(starter["prod"], rtype).values():
            assert r["lifecycle"] == {"prevent_destroy": True}, rtype


def test_baseline_network_is_private_with_endpoints(starter):
    dev = starter["dev"]
    assert one(dev, "aws_vpc")["cidr_block"] == "10.40.0.0/16"
    assert "aws_internet_gateway" not in dev["resource"] and "aws_nat_gateway" not in dev["resource"]
    subnets = resources(dev, "aws_subnet").values()
    assert len(subnets) == 2 and all(s["map_public_ip_on_launch"] is False for s in subnets)
    services = sorted(r["service_name"].split(".", 3)[-1] for r in resources(dev, "aws_vpc_endpoint").values())
    assert services == sorted(
        [
            "s3",
            "sts",
            "kms",
            "logs",
            "secretsmanager",
            "ecr.api",
            "ecr.dkr",
            "sagemaker.api",
            "sagemaker.runtime",
            "eks-auth",
        ]
    )


def test_keys_rotate_and_secret_has_no_value_in_code(starter):
    dev = starter["dev"]
    keys = resources(dev, "aws_kms_key").values()
    assert len(keys) == 3 and all(k["enable_key_rotation"] for k in keys)
    assert "aws_secretsmanager_secret_version" not in dev["resource"]
    assert "kms_key_id" in one(dev, "aws_secretsmanager_secret", name="starter-dev/shared-connections")


def test_persona_roles_have_no_wildcard_actions(starter):
    dev = starter["dev"]
    roles = sorted(r["name"] for r in resources(dev, "aws_iam_role").values())
    assert {
        "starter-dev-data-engineers",
        "starter-dev-data-scientists",
        "starter-dev-ml-engineers",
        "starter-dev-app-consumers",
    } <= set(roles)
    for r in resources(dev, "aws_iam_role_policy").values():
        for st in json.loads(r["policy"])["Statement"]:
            for action in st["Action"]:
                assert action != "*" and not action.endswith(":*"), (r["name"], action)


def test_dataops_mlops_separation_in_grants(starter):
    policies = {r["name"]: json.loads(r["policy"]) for r in resources(starter["dev"], "aws_iam_role_policy").values()}
    writers = {
        name
        for name, doc in policies.items()
        if any(
            "s3:PutObject" in st["Action"]
            and any("starter-dev-raw" in res or "data_lake_raw" in res for res in st["Resource"])
            for st in doc["Statement"]
        )
    }
    # of the personas only data engineers write the raw zone; besides them, Lake Formation's own
    # data-access role, which vends only what Lake Formation permissions grant
    assert writers == {"data_engineers-lake", "lf-data-access"}
    assert "app_consumers-serving" in policies
    consumer_actions = {a for st in policies["app_consumers-serving"]["Statement"] for a in st["Action"]}
    assert consumer_actions == {"sagemaker:InvokeEndpoint"}


def test_catalog_databases_crawlers_and_lake_formation(starter):
    dev = starter["dev"]
    assert sorted(r["name"] for r in resources(dev, "aws_glue_catalog_database").values()) == [
        "starter_dev_features",
        "starter_dev_sales",
    ]
    crawler = one(dev, "aws_glue_crawler", name="starter-dev-crawl-sales")
    assert crawler["s3_target"] == [
        {"path": "s3://${aws_s3_bucket.data_lake_curated_bucket_F0B7A6A1.bucket}/"}
    ] or crawler["s3_target"][0]["path"].startswith("s3://${aws_s3_bucket.data_lake_curated")
    grants = resources(dev, "aws_lakeformation_permissions").values()
    by_perm = sorted(tuple(g["permissions"]) for g in grants)
    assert by_perm.count(("CREATE_TABLE", "ALTER", "DESCRIBE")) == 2  # data engineers on both databases
    assert len(resources(dev, "aws_lakeformation_resource")) == 3


def test_gpu_pools_are_auto_mode_not_node_groups(starter):
    """The pools themselves are NodePools in the cluster stack (tests/modules/test_gpu_pools.py)."""
    assert "aws_eks_node_group" not in starter["dev"]["resource"]
    cluster = one(starter["dev"], "aws_eks_cluster", name="starter-dev-training")
    assert cluster["compute_config"]["enabled"] is True
    assert cluster["vpc_config"]["endpoint_public_access"] is False
    assert cluster["encryption_config"]["resources"] == ["secrets"]


def test_registry_groups_and_repositories(starter):
    dev = starter["dev"]
    assert one(dev, "aws_sagemaker_model_package_group")["model_package_group_name"] == "starter-dev-fraud"
    repo = one(dev, "aws_ecr_repository", name="starter-dev/fraud")
    assert repo["image_tag_mutability"] == "IMMUTABLE" and repo["image_scanning_configuration"] == {
        "scan_on_push": True
    }
    assert repo["encryption_configuration"][0]["encryption_type"] == "KMS"
    rules = json.loads(one(dev, "aws_ecr_lifecycle_policy")["policy"])["rules"]
    assert rules[0]["selection"]["countNumber"] == 30


def test_serving_endpoint_capture_and_autoscaling(starter):
    dev, prod = starter["dev"], starter["prod"]
    cfg = one(dev, "aws_sagemaker_endpoint_configuration")
    variant = cfg["production_variants"][0]
    assert variant["instance_type"] == "ml.m5.xlarge" and variant["initial_instance_count"] == 1
    cap = cfg["data_capture_config"]
    assert cap["enable_capture"] is True and cap["initial_sampling_percentage"] == 100
    assert [o["capture_mode"] for o in cap["capture_options"]] == ["Input", "Output"]
    assert "kms_key_arn" in cfg
    assert one(prod, "aws_sagemaker_endpoint_configuration")["production_variants"][0]["initial_instance_count"] == 2
    target = one(dev, "aws_appautoscaling_target")
    assert (target["min_capacity"], target["max_capacity"]) == (1, 4)
    model = one(dev, "aws_sagemaker_model")
    assert model["enable_network_isolation"] is True  # the bootstrap model: tests/modules/test_aws_serving_bootstrap.py
    assert model["primary_container"]["image"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")


def test_monitoring_alarms_topic_and_dashboards(starter):
    dev = starter["dev"]
    alarms = {r["alarm_name"]: r for r in resources(dev, "aws_cloudwatch_metric_alarm").values()}
    assert sorted(alarms) == [
        "starter-dev-fraud-api-at-capacity",
        "starter-dev-fraud-api-error-rate",
        "starter-dev-fraud-api-latency-p99",
        "starter-dev-gpu-a-gpu-saturated",
    ]
    assert alarms["starter-dev-fraud-api-latency-p99"]["threshold"] == 250_000  # 250 ms in microseconds
    assert alarms["starter-dev-fraud-api-error-rate"]["threshold"] == 0.01
    assert alarms["starter-dev-fraud-api-at-capacity"]["threshold"] == 400  # 4 replicas x 100
    assert all(a["alarm_actions"] == ["${aws_sns_topic.monitoring_alerts_64E0E839.arn}"] for a in alarms.values())
    assert [s["endpoint"] for s in resources(dev, "aws_sns_topic_subscription").values()] == ["ml-oncall@example.com"]
    assert sorted(d["dashboard_name"] for d in resources(dev, "aws_cloudwatch_dashboard").values()) == [
        "starter-dev-fraud-api",
        "starter-dev-pool-gpu-a",
    ]


def test_budget_and_tags(starter):
    assert one(starter["prod"], "aws_budgets_budget")["limit_amount"] == "5000"
    tags = starter["dev"]["provider"]["aws"][0]["default_tags"][0]["tags"]
    assert tags == {
        "mlops:blueprint": "starter",
        "mlops:environment": "dev",
        "owner": "ml-platform@example.com",
        "cost-center": "cc-1234",
        "data-classification": "internal",
        "managed-by": "mlops-blueprint",
    }


def test_backend_is_s3_with_a_lockfile_per_environment(starter):
    s3 = starter["prod"]["terraform"]["backend"]["s3"]
    assert s3["bucket"] == "starter-prod-tfstate" and s3["use_lockfile"] is True and "dynamodb_table" not in s3
    assert s3["key"] == "starter/prod/terraform.tfstate" and s3["encrypt"] is True
    assert starter["prod"]["terraform"]["required_providers"]["aws"]["version"] == "6.69.1"
    assert "endpoints" not in s3 and "access_key" not in s3, "only the CDK Terrain CLI's local mode embeds the emulator"


def test_a_named_lock_table_keeps_dynamodb_locking_with_a_warning(write, tmp_path):
    from mlops_blueprint.blueprints import load as load_bp
    from mlops_blueprint.stacks import synth as do_synth
    from mlops_blueprint.stacks.settings import DeploySettings
    from tests.conftest import MINIMAL

    lb = load_bp(write(MINIMAL + "state: {lock_table: legacy-locks}\n"))
    [w] = lb.warnings
    assert (w.line, w.path) == (16, "state.lock_table") and "deprecated since Terraform 1.10" in w.message
    [r] = do_synth(lb, lb.select("dev"), tmp_path, DeploySettings())
    s3 = json.loads(r.json_path.read_text())["terraform"]["backend"]["s3"]
    assert s3["dynamodb_table"] == "legacy-locks" and "use_lockfile" not in s3


def test_construct_refuses_an_unmappable_pool():
    """A construct validates its props even when a caller skipped the blueprint validator."""
    from cdktn import App, TerraformStack

    from mlops_blueprint.blueprints.model import Baseline, Pool, Training
    from mlops_blueprint.modules.baseline.aws import AwsBaseline, BaselineProps
    from mlops_blueprint.modules.training.aws import AwsTraining, TrainingProps
    from mlops_blueprint.stacks.aws.names import AwsNames as Naming

    stack = TerraformStack(App(), "t")
    n = Naming("t", "dev")
    b = AwsBaseline(
        stack,
        "baseline",
        props=BaselineProps(naming=n, spec=Baseline(), region="eu-central-1", notify=("a@b.co",), protect=False),
    )
    bad = Training(pools={"p": Pool(accelerator="nvidia-a100", gpus_per_node=1, max_nodes=1)})
    with pytest.raises(ValueError, match="nvidia-a100 x1 has no AWS instance type"):
        AwsTraining(stack, "training", props=TrainingProps(naming=n, spec=bad, baseline=b))


def test_wildcard_allow_is_refused_when_building_a_policy():
    from mlops_blueprint.modules.aws_common import statement

    with pytest.raises(ValueError, match="wildcard"):
        statement(["s3:*"], ["arn:aws:s3:::x"])
