"""The embedded default, for real: CLI -> terraform -> AWS provider -> emulator, and back to empty.

Needs terraform on PATH and either internet or a provider mirror in MLOPS_PROVIDER_MIRROR
(`make test` sets it when the machine has one).
"""

import re

import pytest

from tests.integration.run import STARTER, cli

pytestmark = pytest.mark.integration


def test_up_again_verify_down_leaves_the_emulator_empty(emulator, emulator_home, aws, tmp_path):
    out = tmp_path / "cdktf.out"
    rc, log = cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 0, log
    assert f"reusing {emulator.endpoint}" in log
    assert re.search(r"starter-dev: \d+ to create, 0 to update, 0 to replace, 0 to destroy", log)
    passed = re.search(r"(\d+)/(\d+) checks passed", log)
    # 10 baseline (3 keys, 4 roles, audit log bucket, trail, flow logs) + 3 lake + 2 catalog + 5 training (the
    # Auto Mode cluster, 4 personas' access entries) + 3 registry + 1 endpoint + 7 monitoring (the GPU metrics add-on)
    assert passed and passed.group(1) == passed.group(2) == "31", log

    # The state lives in the emulator, on the production path: an S3 bucket, locked by the S3 lockfile
    # (no DynamoDB table any more; the lockfile is gone once the run released it).
    keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket="starter-dev-tfstate")["Contents"]]
    assert keys == ["starter/dev/terraform.tfstate"]
    assert aws("dynamodb").list_tables()["TableNames"] == []

    rc, log = cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 0, log
    assert "starter-dev: 0 to create, 0 to update, 0 to replace, 0 to destroy" in log
    assert "up to date starter-dev: no changes" in log

    rc, log = cli("verify", STARTER, "--env", "dev", "--local", home=emulator_home)
    assert rc == 0, log

    # rollout: a canary (10 %) next to the bootstrap model, then promotion; Terraform leaves it alone.
    sm = aws("sagemaker")
    rc, log = cli(
        "rollout",
        STARTER,
        "--env",
        "dev",
        "--endpoint",
        "fraud-api",
        "--image-tag",
        "v2",
        "--traffic",
        "10",
        "--local",
        home=emulator_home,
    )
    assert rc == 0, log
    assert "primary 90%, canary 10%" in log
    [package] = sm.list_model_packages(ModelPackageGroupName="starter-dev-fraud")["ModelPackageSummaryList"]
    assert package["ModelApprovalStatus"] == "Approved"
    ep = sm.describe_endpoint(EndpointName="starter-dev-fraud-api")
    assert {v["VariantName"]: v["CurrentWeight"] for v in ep["ProductionVariants"]} == {"primary": 90.0, "canary": 10.0}
    config = sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])
    canary = next(v for v in config["ProductionVariants"] if v["VariantName"] == "canary")
    model = sm.describe_model(ModelName=canary["ModelName"])
    assert (
        model["PrimaryContainer"]["ModelPackageName"] == package["ModelPackageArn"] and model["EnableNetworkIsolation"]
    )
    assert config["KmsKeyId"] and config["DataCaptureConfig"]["EnableCapture"] is True

    rc, log = cli(
        "rollout",
        STARTER,
        "--env",
        "dev",
        "--endpoint",
        "fraud-api",
        "--image-tag",
        "v2",
        "--traffic",
        "100",
        "--local",
        home=emulator_home,
    )
    assert rc == 0 and "primary 100%" in log, log
    ep = sm.describe_endpoint(EndpointName="starter-dev-fraud-api")
    assert [v["VariantName"] for v in ep["ProductionVariants"]] == ["primary"]
    rc, log = cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 0 and "up to date starter-dev: no changes" in log, log  # the rollout is not reverted
    rc, log = cli(
        "rollout", STARTER, "--env", "dev", "--endpoint", "nope", "--image-tag", "v3", "--local", home=emulator_home
    )
    assert rc == 2 and "endpoint 'nope' is not in the blueprint; endpoints: fraud-api" in log

    # Data-loss guard: the lake (and the catalog over it) removed from the blueprint. prevent_destroy
    # cannot catch this (the block is gone with it); the change rule on the plan does.
    text = STARTER.read_text()
    head, rest = text.split("  data_lake:", 1)
    without_lake = head + rest[rest.index("  training:") :]
    shrunk = tmp_path / "starter-without-lake.yaml"
    shrunk.write_text(without_lake)
    rc, log = cli("plan", shrunk, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 6, log
    assert "MLOPS_CHG_001" in log and "data_lake.raw" in log and "--allow-destroy data_lake.raw" in log
    rc, log = cli(
        "plan",
        shrunk,
        "--env",
        "dev",
        "--local",
        "--output",
        out,
        "--allow-destroy",
        "data_lake",
        "--allow-destroy",
        "catalog",
        home=emulator_home,
    )
    assert rc == 0, log
    assert "destroy allowed by --allow-destroy data_lake" in log

    # A protected environment refuses `down` before touching anything.
    rc, log = cli("down", STARTER, "--env", "prod", "--local", "--output", out, home=emulator_home)
    assert rc == 2 and "protect their stateful resources" in log

    rc, log = cli("down", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 0, log
    assert "destroyed starter-dev" in log

    assert aws("s3").list_buckets()["Buckets"] == []
    assert aws("dynamodb").list_tables()["TableNames"] == []
    assert [r["RoleName"] for r in aws("iam").list_roles()["Roles"]] == []
    assert aws("sagemaker").list_endpoints()["Endpoints"] == []
    assert aws("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    assert aws("eks").list_clusters()["clusters"] == []
    assert aws("glue").get_databases()["DatabaseList"] == []
    assert aws("ecr").describe_repositories()["repositories"] == []
    assert aws("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert aws("ec2").describe_vpcs(Filters=[{"Name": "tag:mlops:blueprint", "Values": ["starter"]}])["Vpcs"] == []
    kms = aws("kms")
    states = {kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] for k in kms.list_keys()["Keys"]}
    assert states <= {"PendingDeletion"}  # KMS never deletes a key at once: 30-day window, as on AWS


def test_up_refuses_a_blueprint_that_fails_the_gate(emulator, emulator_home, aws, tmp_path):
    bad = tmp_path / "mutable.yaml"
    bad.write_text(
        STARTER.read_text()
        .replace("models: [fraud]", "{models: [fraud], immutable_tags: false}")
        .replace("  registry:\n    {models", "  registry: {models")
        .replace("false}", "false}")
    )
    rc, log = cli("up", bad, "--env", "dev", "--local", "--output", tmp_path / "out", home=emulator_home)
    assert rc == 6, log
    assert "MLOPS_AWS_016" in log and "refusing to deploy starter-dev" in log
    assert aws("s3").list_buckets()["Buckets"] == []  # nothing was deployed, not even the state bucket
