"""The terraform runner's configuration: mirror handling and paths."""

import pytest

from mlops_blueprint.scripts.terraform import PlanSummary, Terraform, ToolMissing, cli_config


def make_mirror(root):
    (root / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0").mkdir(parents=True)
    return root


def test_relative_stack_dir_gets_an_absolute_cli_config(tmp_path, monkeypatch):
    """terraform runs inside the stack folder: a relative TF_CLI_CONFIG_FILE would silently not be found."""
    mirror = make_mirror(tmp_path / "mirror")
    (tmp_path / "cdktf.out" / "stacks" / "s").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    tf = Terraform(tmp_path.joinpath("cdktf.out/stacks/s").relative_to(tmp_path), stack="s", env={}, mirror=mirror)
    config = tf.env["TF_CLI_CONFIG_FILE"]
    assert config == str(tmp_path / "cdktf.out/stacks/s/.terraformrc")
    text = (tmp_path / "cdktf.out/stacks/s/.terraformrc").read_text()
    assert f'path    = "{mirror}"' in text and 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text


def test_no_mirror_keeps_terraforms_normal_download(tmp_path):
    assert cli_config(tmp_path, None) is None


def test_a_folder_that_is_not_a_mirror_is_refused(tmp_path):
    with pytest.raises(ToolMissing, match="has no registry.terraform.io/ folder"):
        cli_config(tmp_path, tmp_path / "empty")


def test_plan_summary_classifies_actions():
    plan = {
        "resource_changes": [
            {"address": "a.x", "change": {"actions": ["create"]}},
            {"address": "a.y", "change": {"actions": ["update"]}},
            {"address": "a.z", "change": {"actions": ["delete", "create"]}},
            {"address": "a.w", "change": {"actions": ["delete"]}},
            {"address": "a.v", "change": {"actions": ["no-op"]}},
        ]
    }
    s = PlanSummary.from_plan_json(plan)
    assert (s.create, s.update, s.replace, s.delete) == (["a.x"], ["a.y"], ["a.z"], ["a.w"])
    assert s.counts() == "1 to create, 1 to update, 1 to replace, 1 to destroy" and not s.empty


LOCK_TAIL = """Error: Error acquiring the state lock

Error message: operation error S3: PutObject, https response error StatusCode: 412
Lock Info:
  ID:        8c1f2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b
  Path:      starter-dev-tfstate/starter/dev/terraform.tfstate
  Operation: OperationTypeApply
"""


def test_a_held_lock_names_it_and_the_exact_command_to_release_it(tmp_path):
    """The hint is a command to paste: the stack folder's absolute path, the lock's ID, and the emulator's
    endpoint; credential values never appear (they show as x, which only the emulator accepts)."""
    import shlex

    from mlops_blueprint.scripts.terraform import TerraformFailed

    folder = tmp_path / "cdktf.out" / "stacks" / "starter-dev"
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_ACCESS_KEY_ID": "AKIAMLOPSEMULATOR7Q4",
        "AWS_SECRET_ACCESS_KEY": "mlopsEmulatorDummySecret/7fQ2xK9vLp3RtY8",
        "AWS_SESSION_TOKEN": "",
        "AWS_REGION": "eu-central-1",
    }
    failed = TerraformFailed("starter-dev", "plan", LOCK_TAIL, folder, env)
    command = failed.hint.splitlines()[-1].strip()
    assert command == (
        "AWS_ACCESS_KEY_ID=x AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=eu-central-1 "
        f"AWS_SECRET_ACCESS_KEY=x AWS_SESSION_TOKEN= terraform -chdir={folder} force-unlock "
        "8c1f2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"
    )
    assert shlex.split(command)[-4:] == [
        "terraform",
        f"-chdir={folder}",
        "force-unlock",
        "8c1f2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
    ]
    assert "Dummy" not in str(failed) + failed.hint and "AKIA" not in failed.hint
    # On a real cloud the run adds no environment: the bare command, with the user's own credentials.
    real = TerraformFailed("starter-dev", "apply", LOCK_TAIL, folder, {})
    assert real.hint.splitlines()[-1].strip() == (
        f"terraform -chdir={folder} force-unlock 8c1f2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"
    )
    spaced = TerraformFailed("s", "plan", LOCK_TAIL, tmp_path / "a b", {})
    assert f"-chdir='{tmp_path / 'a b'}'" in spaced.hint


def test_a_diagnosis_replaces_terraforms_error(tmp_path):
    """`diagnose` turns a failure into a clearer error (the pipeline: the emulator stopped answering)."""
    from mlops_blueprint.blueprints.errors import UserError

    class Gone(UserError):
        exit_code = 3

    script = tmp_path / "terraform"
    script.write_text("#!/bin/sh\necho 'Error: dial tcp 127.0.0.1:4566: connect: connection refused'\nexit 1\n")
    script.chmod(0o755)
    tf = Terraform(
        tmp_path, stack="s", env={}, mirror=None, diagnose=lambda failure: Gone(f"gone during {failure.command}")
    )
    tf.binary = str(script)
    with pytest.raises(Gone, match="gone during apply") as raised:
        tf.apply()
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


FAKE_TERRAFORM = """#!/bin/sh
[ "$1" = apply ] || { echo '{}'; exit 0; }  # show -json after the interrupt: nothing tainted
# Like terraform on SIGINT: say so, finish the operation under way, save, exit 1. A closed stdout would kill it.
trap 'echo "Interrupt received."; sleep 1; echo "Stopping operation..."; echo graceful >> "$MARK"; exit 1' INT
echo "aws_iam_role.x: Creating..."
i=0
while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
echo finished >> "$MARK"
"""


def sigint_default() -> None:
    """The child's SIGINT is the default, whatever this process inherited: a background job of a
    non-interactive shell starts with SIGINT ignored, and an ignored signal stays ignored across exec
    (Python then installs no KeyboardInterrupt handler, and sh may not trap it)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


INTERRUPTED_RUN = """
import os, signal, sys, threading, time
from pathlib import Path
from mlops_blueprint.scripts.terraform import Terraform, TerraformInterrupted
folder = Path(sys.argv[1])
tf = Terraform(folder, stack="s", env={"MARK": str(folder / "mark")}, mirror=None,
               on_line=lambda line: line.endswith("Creating...") and threading.Timer(
                   0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start())
tf.binary = str(folder / "terraform")
try:
    tf.apply()
except TerraformInterrupted as exc:
    print("RAISED", exc.exit_code, exc)
"""


def test_ctrl_c_hands_terraform_one_interrupt_and_waits_for_it(tmp_path):
    """A Ctrl-C reaches the CLI (terraform runs in a session of its own): terraform gets exactly one
    SIGINT, its output is read to the end (so it can stop gracefully), and the run ends in a
    TerraformInterrupted (exit 130), not a KeyboardInterrupt traceback."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    (tmp_path / "terraform").write_text(FAKE_TERRAFORM)
    (tmp_path / "terraform").chmod(0o755)
    p = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_RUN, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        preexec_fn=sigint_default,
    )
    assert "RAISED 130 interrupted: terraform apply of s stopped gracefully" in p.stdout, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    assert (tmp_path / "mark").read_text() == "graceful\n"  # one interrupt, handled to the end


def test_a_sensitive_output_is_never_handed_on(tmp_path):
    """`terraform output -json` prints sensitive values in clear; the runner replaces them."""
    from mlops_blueprint.scripts.terraform import SENSITIVE

    script = tmp_path / "terraform"
    script.write_text(
        "#!/bin/sh\ncat <<'EOF'\n"
        '{"lake": {"sensitive": false, "type": "string", "value": "s3://lake"},'
        ' "db_password": {"sensitive": true, "type": "string", "value": "hunter2-s3cr3t"}}\n'
        "EOF\n"
    )
    script.chmod(0o755)
    tf = Terraform(tmp_path, stack="s", env={}, mirror=None)
    tf.binary = str(script)
    assert tf.outputs() == {"lake": "s3://lake", "db_password": SENSITIVE}


def test_the_objects_that_already_exist_are_named_by_address():
    """terraform's error blocks name their resource on a `with <address>,` line; only the blocks that say
    the object already exists count (an orphan of a killed run, or someone else's object)."""
    from mlops_blueprint.scripts.terraform import orphaned

    lines = [
        "╷",
        "│ Error: creating IAM Role (starter-dev-ds): operation error IAM: CreateRole, StatusCode: 409,",
        "│ EntityAlreadyExists: Role with name starter-dev-ds already exists.",
        "│ ",
        "│   with aws_iam_role.baseline_persona-ds_12AB,",
        "│   on cdk.tf.json line 120, in resource.aws_iam_role.baseline_persona-ds_12AB:",
        "╵",
        "╷",
        "│ Error: creating KMS Key: AccessDeniedException: not allowed",
        "│   with aws_kms_key.baseline_key_1,",
        "╵",
        "│ Error: creating S3 Bucket (starter-dev-raw): BucketAlreadyOwnedByYou: yours",
        '│   with aws_s3_bucket.lake["raw"],',
        "│ Error: creating IAM Role (starter-dev-ds): EntityAlreadyExists: again",
        "│   with aws_iam_role.baseline_persona-ds_12AB,",
    ]
    assert orphaned(lines) == ["aws_iam_role.baseline_persona-ds_12AB", 'aws_s3_bucket.lake["raw"]']
    assert orphaned(["Error: timeout", "  with aws_iam_role.x,"]) == []


INTERRUPTED_THREADS = """
import os, signal, sys, threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from mlops_blueprint.scripts.pipeline import _results
from mlops_blueprint.scripts.terraform import Terraform, TerraformInterrupted
root = Path(sys.argv[1])
started = []

def creating(name, line):
    if line.endswith("Creating..."):
        started.append(name)
        if len(started) == 2:  # both terraforms under way: a Ctrl-C, which only the main thread receives
            threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()

def apply(name):
    folder = root / name
    folder.mkdir()
    tf = Terraform(folder, stack=name, env={"MARK": str(folder / "mark")}, mirror=None,
                   on_line=lambda line: creating(name, line))
    tf.binary = str(root / "terraform")
    tf.apply()

with ThreadPoolExecutor(2) as pool:
    try:
        _results([pool.submit(apply, n) for n in ("dev", "prod")])
    except TerraformInterrupted as exc:
        print("RAISED", exc.exit_code, exc)
"""


def test_ctrl_c_while_environments_run_in_threads_interrupts_each_terraform_once(tmp_path):
    """`plan` and `review` run one terraform per environment in threads; a Ctrl-C reaches only the main
    thread, waiting for them. Each terraform still gets exactly one interrupt and stops gracefully
    (its state saved, its lock released), and the command ends in TerraformInterrupted (exit 130)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    (tmp_path / "terraform").write_text(FAKE_TERRAFORM)
    (tmp_path / "terraform").chmod(0o755)
    p = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_THREADS, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        preexec_fn=sigint_default,
    )
    assert "RAISED 130 interrupted: terraform apply of " in p.stdout, p.stdout + p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    for env in ("dev", "prod"):
        assert (tmp_path / env / "mark").read_text() == "graceful\n", env  # one interrupt each, handled to the end
