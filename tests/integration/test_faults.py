"""Faults during a deploy, on the embedded emulator with real terraform (issue 14, part 2 and 3):

- `down` after rollouts leaves nothing behind: every SageMaker, ECR, S3, Glue, IAM and CloudWatch
  resource is gone (KMS keys wait out their deletion window, as on AWS);
- an interrupted `up` (Ctrl-C mid-apply) stops terraform gracefully, and the next `up` converges;
- the emulator dying mid-apply ends in a plain message that says what to do, exit 3;
- no secret (the emulator's keys, tokens in the environment) appears in any output or report.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.run import STARTER, cli, start_cli

pytestmark = pytest.mark.integration
NO_TRACE = ("Traceback", "goroutine", "panic:", "dial tcp", "connection refused", "operation error")


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:  # the emulator may not be up yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


CHECKS_PASSED = re.compile(r"(\d+)/(\d+) checks passed")


def all_checks_passed(log: str) -> bool:
    m = CHECKS_PASSED.search(log)
    return bool(m) and m.group(1) == m.group(2) and int(m.group(1)) > 20


def leftovers(aws) -> dict[str, list]:
    """Every resource of the services the platform uses that the emulator still holds."""
    sm, iam, glue, cw = aws("sagemaker"), aws("iam"), aws("glue"), aws("cloudwatch")
    out = {
        "sagemaker models": [m["ModelName"] for m in sm.list_models()["Models"]],
        "sagemaker endpoint configs": [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]],
        "sagemaker endpoints": [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]],
        "sagemaker model packages": [
            p["ModelPackageArn"] for p in sm.list_model_packages(ModelPackageType="Both")["ModelPackageSummaryList"]
        ],
        "sagemaker model package groups": [
            g["ModelPackageGroupName"] for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
        ],
        "ecr repositories": [r["repositoryName"] for r in aws("ecr").describe_repositories()["repositories"]],
        "s3 buckets": [b["Name"] for b in aws("s3").list_buckets()["Buckets"]],
        "glue databases": [d["Name"] for d in glue.get_databases()["DatabaseList"]],
        "glue crawlers": [c["Name"] for c in glue.get_crawlers()["Crawlers"]],
        "iam roles": [r["RoleName"] for r in iam.list_roles()["Roles"]],
        "iam policies": [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]],
        "iam instance profiles": [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]],
        "cloudwatch alarms": [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]],
        "cloudwatch composite alarms": [a["AlarmName"] for a in cw.describe_alarms()["CompositeAlarms"]],
        "cloudwatch dashboards": [d["DashboardName"] for d in cw.list_dashboards()["DashboardEntries"]],
        "cloudwatch log groups": [g["logGroupName"] for g in aws("logs").describe_log_groups()["logGroups"]],
    }
    kms = aws("kms")
    out["kms keys not pending deletion"] = [
        k["KeyId"]
        for k in kms.list_keys()["Keys"]
        if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
    ]
    return {k: v for k, v in out.items() if v}


def rollout(traffic: int, home) -> tuple[int, str]:
    return cli(
        "rollout",
        STARTER,
        "--env",
        "dev",
        "--endpoint",
        "fraud-api",
        "--image-tag",
        "v2",
        "--traffic",
        traffic,
        "--local",
        home=home,
    )


def test_down_after_rollouts_leaves_nothing_behind(emulator, emulator_home, aws, tmp_path):
    out = tmp_path / "cdktf.out"
    rc, log = cli("up", STARTER, "--env", "dev", "--local", "--output", out, "--skip-verify", home=emulator_home)
    assert rc == 0, log
    rc, log = rollout(10, emulator_home)
    assert rc == 0 and "primary 90%, canary 10%" in log, log
    rc, log = rollout(100, emulator_home)
    assert rc == 0 and "primary 100%" in log, log
    sm = aws("sagemaker")
    assert len(sm.list_model_packages(ModelPackageGroupName="starter-dev-fraud")["ModelPackageSummaryList"]) == 2
    rollout_made = [
        m["ModelName"] for m in sm.list_models()["Models"] if m["ModelName"].startswith("starter-dev-fraud-api-v")
    ]
    assert len(rollout_made) == 2, rollout_made

    rc, log = cli("down", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 0, log
    assert "destroyed starter-dev" in log
    assert "deleted model version" in log and "deleted rollout model" in log, log
    assert leftovers(aws) == {}


def test_interrupted_up_converges_on_the_next_up(emulator, emulator_home, aws, tmp_path):
    """Ctrl-C mid-apply: terraform gets one interrupt, finishes what is under way, saves the state and
    releases the S3 lockfile; the CLI says so (exit 130, no traceback). The next `up` converges, and
    `verify` passes."""
    out = tmp_path / "cdktf.out"
    log_file = tmp_path / "up.log"
    p = start_cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home, log=log_file)
    try:
        wait_until(lambda: aws("iam").list_roles()["Roles"], 600, "the apply to create its first role")
        os.killpg(p.pid, signal.SIGINT)
        rc = p.wait(timeout=600)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    log = log_file.read_text()
    assert rc == 130, log
    assert "interrupted: terraform apply of starter-dev stopped gracefully" in log, log
    assert "run the same command again" in log
    assert not any(t in log for t in NO_TRACE), log
    keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket="starter-dev-tfstate")["Contents"]]
    assert keys == ["starter/dev/terraform.tfstate"]  # no lockfile left behind

    rc, log = cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 0, log
    assert re.search(r"starter-dev: [1-9]\d* to create", log), log  # it carried on where the interrupt stopped it
    assert "to replace" not in log or " 0 to replace" in log, log  # cut-short creates were kept, not replaced
    assert all_checks_passed(log), log
    rc, log = cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 0 and "up to date starter-dev: no changes" in log, log
    rc, log = cli("verify", STARTER, "--env", "dev", "--local", home=emulator_home)
    assert rc == 0, log
    rc, log = cli("down", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 0, log
    assert leftovers(aws) == {}


def test_the_emulator_dying_mid_apply_is_a_plain_message(tmp_path):
    """The emulator's server process is killed (SIGKILL) while `up` applies: exit 3, a message that says
    what happened and what to do, and no provider stack trace or Python traceback."""
    import boto3

    from mlops_blueprint.scripts import emulator as emu

    home = tmp_path / "home"  # a fresh home: `up` starts an emulator of its own
    log_file = tmp_path / "up.log"
    p = start_cli("up", STARTER, "--env", "dev", "--local", "--output", tmp_path / "out", home=home, log=log_file)
    try:
        wait_until(lambda: (home / "emulator.json").exists(), 120, "the emulator to start")
        recorded = json.loads((home / "emulator.json").read_text())
        iam = boto3.client(
            "iam",
            endpoint_url=f"http://{recorded['host']}:{recorded['port']}",
            region_name="eu-central-1",
            aws_access_key_id=emu.ACCESS_KEY,
            aws_secret_access_key=emu.SECRET_KEY,
        )
        wait_until(lambda: iam.list_roles()["Roles"], 600, "the apply to create its first role")
        os.kill(recorded["pid"], signal.SIGKILL)
        rc = p.wait(timeout=600)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    log = log_file.read_text()
    assert rc == 3, log
    assert "the emulator stopped answering during terraform apply of starter-dev" in log, log
    assert "start it again with `mlops-blueprint emulator start` and run `up` again" in log
    assert not any(t in log for t in NO_TRACE), log


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.fixture
def own_emulator(tmp_path, monkeypatch):
    """An emulator of this test's own (what a test before it left behind cannot matter)."""
    import boto3

    from mlops_blueprint.scripts import emulator as emu

    home = tmp_path / "home"
    monkeypatch.setenv("MLOPS_HOME", str(home))
    running, _ = emu.start()

    def aws(service, region="eu-central-1"):
        return boto3.client(
            service,
            endpoint_url=running.endpoint,
            region_name=region,
            aws_access_key_id=emu.ACCESS_KEY,
            aws_secret_access_key=emu.SECRET_KEY,
        )

    yield running, home, aws
    emu.stop()


def test_a_killed_up_leaves_a_lock_that_the_error_says_how_to_release(own_emulator, tmp_path):
    """SIGKILL to the CLI and to terraform mid-apply: the S3 lockfile stays. The next `up` does not break
    it: it fails (exit 4) naming the lock and the exact command to release it, which, pasted into a shell,
    releases it."""
    emulator, emulator_home, aws = own_emulator
    out = tmp_path / "cdktf.out"
    log_file = tmp_path / "up.log"
    p = start_cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home, log=log_file)
    try:
        wait_until(lambda: aws("iam").list_roles()["Roles"], 600, "the apply to create its first role")
        for child in children(p.pid):  # terraform runs in a session of its own: kill it (and its providers) too
            if os.getpgid(child) == child:
                os.killpg(child, signal.SIGKILL)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket="starter-dev-tfstate")["Contents"]]
    assert "starter/dev/terraform.tfstate.tflock" in keys

    rc, log = cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 4, log
    assert "Error acquiring the state lock" in log and "starter-dev-tfstate/starter/dev/terraform.tfstate" in log
    lock_id = re.search(r"ID:\s+([0-9a-f-]{36})", log).group(1)
    command = log[log.index("release the lock (and only then) with:") :].splitlines()[1].strip()
    folder = out.resolve() / "stacks" / "starter-dev"
    assert command.endswith(f"terraform -chdir={folder} force-unlock {lock_id}"), command
    assert f"AWS_ENDPOINT_URL={emulator.endpoint}" in command and "AWS_SECRET_ACCESS_KEY=x" in command
    assert "starter/dev/terraform.tfstate.tflock" in [  # the tool did not break the lock itself
        o["Key"] for o in aws("s3").list_objects_v2(Bucket="starter-dev-tfstate")["Contents"]
    ]
    released = subprocess.run(
        ["bash", "-c", command], input="yes\n", capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert released.returncode == 0 and "successfully unlocked" in released.stdout, released.stdout + released.stderr
    keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket="starter-dev-tfstate").get("Contents", [])]
    assert not [k for k in keys if k.endswith(".tflock")]  # the state itself exists only if terraform saved it in time

    # What the killed apply created but could not record is adopted by the next `up` (in the emulator),
    # or, without a name of its own, removed. Whether the kill left such orphans depends on timing, so
    # some are made for certain, as a killed run would have left them: a lake bucket the stack creates
    # (adopted by name), and a VPC with the stack's name and tags plus a KMS key with its tags (removed).
    doc = json.loads((out / "stacks" / "starter-dev" / "cdk.tf.json").read_text())
    (address, bucket), *_ = [
        (f"aws_s3_bucket.{k}", b["bucket"]) for k, b in doc["resource"]["aws_s3_bucket"].items() if "features" in k
    ]
    s3 = aws("s3")
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    (vpc_spec,) = doc["resource"]["aws_vpc"].values()
    default_tags = doc["provider"]["aws"][0]["default_tags"][0]["tags"]
    tags = [{"Key": k, "Value": v} for k, v in {**default_tags, **vpc_spec["tags"]}.items()]
    lost_vpc = aws("ec2").create_vpc(
        CidrBlock=vpc_spec["cidr_block"], TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}]
    )["Vpc"]["VpcId"]
    lost_key = aws("kms").create_key(Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags])
    rc, log = cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert f"adopted {address} ({bucket})" in log, log
    assert f"removed untracked VPC {lost_vpc}" in log, log
    assert f"removed untracked KMS key {lost_key['KeyMetadata']['KeyId']}" in log, log
    named = aws("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [vpc_spec["tags"]["Name"]]}])["Vpcs"]
    assert len(named) == 1 and named[0]["VpcId"] != lost_vpc, named  # one VPC: the platform's
    assert rc == 0 and all_checks_passed(log), log
    assert not any(t in log for t in NO_TRACE), log
    rc, log = cli("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert rc == 0 and "up to date starter-dev: no changes" in log, log  # converged: the same platform
