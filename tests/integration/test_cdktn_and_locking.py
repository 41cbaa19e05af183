"""Per-environment deploys with the CDK Terrain CLI on the emulator, and S3-native state locking.

`cdktn deploy starter-dev` runs the same app (cdktf.json -> stacks/main.py) with MLOPS_LOCAL=1: the
stack carries the emulator's endpoint and keys, the app creates the state bucket in the emulator,
and the provider mirror is linked as terraform's implied mirror. Then `mlops-blueprint verify` reads
it back, and `cdktn destroy` removes it. Between them, `plan --local` runs `up`'s path in the same
folder: both paths work in either order (the app re-initializes a folder whose recorded backend
settings are not the stack's: `up`'s, or an emulator's on another port).
"""

import os
import re
import subprocess
import time

import pytest

from tests.conftest import ROOT
from tests.integration.run import STARTER, run_cli

pytestmark = pytest.mark.integration
BIN = ROOT / ".tools" / "node_modules" / ".bin"
needs_cdktn = pytest.mark.skipif(
    not (BIN / "cdktn").exists(), reason="CDK Terrain CLI not installed: run `make cdktn-cli`"
)


def cdktn(*args, home, out, timeout=1500, **extra):
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        CHECKPOINT_DISABLE="1",
        MLOPS_HOME=str(home),
        MLOPS_BLUEPRINT=str(STARTER),
        MLOPS_LOCAL="1",
        MLOPS_ENV="dev",
        CI="1",
        FORCE_COLOR="0",
        **extra,
    )
    return subprocess.run(
        [str(BIN / "cdktn"), *args, "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@needs_cdktn
def test_cdktn_deploy_verify_destroy_one_environment(emulator, emulator_home, aws, tmp_path):
    out = tmp_path / "cdktf.out"
    p = cdktn("deploy", "starter-dev", "--auto-approve", home=emulator_home, out=out)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    assert "Deprecated Parameter" not in p.stdout + p.stderr  # no dynamodb_table warning: the lockfile locks
    assert [o["Key"] for o in aws("s3").list_objects_v2(Bucket="starter-dev-tfstate")["Contents"]] == [
        "starter/dev/terraform.tfstate"
    ]
    assert aws("sagemaker").describe_endpoint(EndpointName="starter-dev-fraud-api")["EndpointStatus"] == "InService"
    assert "re-initialized" not in p.stdout + p.stderr  # a first init: nothing to forget

    # `up`'s path in the same folder, after cdktn: it initializes with the emulator's endpoint in the
    # environment (-reconfigure) and finds what cdktn deployed, unchanged.
    v = run_cli("plan", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home, timeout=900)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "starter-dev: 0 to create, 0 to update, 0 to replace, 0 to destroy" in v.stdout, v.stdout + v.stderr
    v = run_cli("verify", STARTER, "--env", "dev", "--local", home=emulator_home, timeout=600)
    assert v.returncode == 0 and "31/31 checks passed" in v.stdout, v.stdout + v.stderr

    # cdktn after `up`'s path: terraform recorded other backend settings there (no endpoint, as after an
    # emulator restart on another port); the app re-initializes the folder, and a plain `terraform
    # init` no longer stops at "Backend configuration changed".
    p = cdktn("destroy", "starter-dev", "--auto-approve", home=emulator_home, out=out)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    assert "Backend configuration changed" not in p.stdout + p.stderr
    assert "starter-dev: its backend settings changed since terraform last ran there" in p.stdout + p.stderr
    assert aws("sagemaker").list_endpoints()["Endpoints"] == []
    assert [b["Name"] for b in aws("s3").list_buckets()["Buckets"]] == ["starter-dev-tfstate"]  # state stays


@needs_cdktn
def test_cdktn_without_a_running_emulator_says_how_to_start_it(tmp_path):
    p = cdktn("synth", home=tmp_path / "no-emulator-here", out=tmp_path / "out", timeout=600)
    assert p.returncode != 0
    assert "no emulator is running; start it with `mlops-blueprint emulator start`" in p.stdout + p.stderr


LOCKED = """
terraform {
  backend "s3" {
    bucket = "lock-test-state"
    key = "env/terraform.tfstate"
    region = "eu-central-1"
    use_lockfile = true
    use_path_style = true
    skip_credentials_validation = true
    skip_region_validation = true
    skip_requesting_account_id = true
    skip_metadata_api_check = true
  }
}
resource "terraform_data" "slow" {
  input = var.run
  provisioner "local-exec" { command = "sleep ${var.sleep}" }
}
variable "run" { type = string }
variable "sleep" { type = number }
"""


def test_s3_lockfile_serializes_two_applies_of_one_environment(emulator, aws, tmp_path):
    """Real terraform, S3-native locking (use_lockfile) on the emulator: a second apply of the same
    environment is refused while the first holds the lock, with the lock's id, waits with a lock
    timeout, and the state ends with both runs applied in order (nothing corrupted)."""
    aws("s3").create_bucket(Bucket="lock-test-state", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    dirs = []
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir()
        (d / "main.tf").write_text(LOCKED)
        dirs.append(d)
    env = dict(os.environ, **emulator.aws_env("eu-central-1"), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    for d in dirs:
        subprocess.run(
            ["terraform", "init", "-input=false", "-no-color"], cwd=d, env=env, check=True, capture_output=True
        )
    first = subprocess.Popen(
        ["terraform", "apply", "-auto-approve", "-no-color", "-var", "run=first", "-var", "sleep=12"],
        cwd=dirs[0],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the first run holds the lock
        listed = aws("s3").list_objects_v2(Bucket="lock-test-state").get("Contents", [])
        if any(o["Key"].endswith(".tflock") for o in listed):
            break
        time.sleep(0.3)
    refused = subprocess.run(
        ["terraform", "apply", "-auto-approve", "-no-color", "-var", "run=second", "-var", "sleep=0"],
        cwd=dirs[1],
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "Error acquiring the state lock" in refused.stderr + refused.stdout
    assert re.search(r"ID:\s+[0-9a-f-]{36}", refused.stderr + refused.stdout)  # the lock is named, for force-unlock
    assert "lock-test-state/env/terraform.tfstate" in refused.stderr + refused.stdout
    waited = subprocess.run(
        [
            "terraform",
            "apply",
            "-auto-approve",
            "-no-color",
            "-lock-timeout=120s",
            "-var",
            "run=second",
            "-var",
            "sleep=0",
        ],
        cwd=dirs[1],
        env=env,
        capture_output=True,
        text=True,
    )
    assert first.wait(timeout=120) == 0, first.stdout.read()
    assert waited.returncode == 0, waited.stdout + waited.stderr
    state = subprocess.run(
        ["terraform", "show", "-json"], cwd=dirs[1], env=env, capture_output=True, text=True, check=True
    )
    assert '"input":"second"' in state.stdout.replace(" ", "")  # the second run applied on top of the first
    keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket="lock-test-state")["Contents"]]
    assert keys == ["env/terraform.tfstate"]  # both locks released
