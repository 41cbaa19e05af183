"""The cdktn app (stacks/main.py) re-initializes a stack folder whose recorded backend settings are not
the stack's: cdktn runs a plain `terraform init`, which stops at "Backend configuration changed" after
`up --local` initialized the same folder (the emulator's endpoint in the environment, none in the
stack) or after the emulator restarted on another port. Real terraform, a local backend, no network;
tests/integration/test_cdktn_and_locking.py does it with `up`'s path and cdktn on the emulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from mlops_blueprint.stacks.main import forget_changed_backend

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")


def stack(folder, backend: dict) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": backend}}))


def init(folder, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_INPUT="0")
    return subprocess.run(
        ["terraform", "init", "-input=false", "-no-color", *extra],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_changed_backend_is_forgotten_and_a_plain_init_then_works(tmp_path):
    folder = tmp_path / "starter-dev"
    stack(folder, {"local": {"path": str(tmp_path / "port-1111.tfstate")}})
    assert init(folder).returncode == 0
    assert forget_changed_backend(folder) is False  # the same settings: the record stays
    assert (folder / ".terraform" / "terraform.tfstate").is_file()

    stack(folder, {"local": {"path": str(tmp_path / "port-2222.tfstate")}})  # the emulator on another port
    refused = init(folder)
    assert refused.returncode != 0 and "Backend configuration changed" in refused.stdout + refused.stderr
    said: list[str] = []
    assert forget_changed_backend(folder, said.append) is True
    assert said == ["starter-dev: its backend settings changed since terraform last ran there; it is re-initialized"]
    again = init(folder)
    assert again.returncode == 0, again.stdout + again.stderr
    assert forget_changed_backend(folder) is False


def test_settings_added_or_removed_count_as_a_change(tmp_path):
    """`up --local` writes no endpoint into the stack, cdktn's app does: either way round is a change;
    a record terraform wrote with every attribute (nulls for the unset ones) is not."""
    folder = tmp_path / "s"
    base = {"bucket": "b", "key": "k", "region": "eu-central-1", "use_lockfile": True}
    with_endpoints = {**base, "endpoints": {"s3": "http://127.0.0.1:4000"}, "access_key": "x"}

    def record(config: dict) -> None:
        (folder / ".terraform").mkdir(parents=True, exist_ok=True)
        full = {"bucket": None, "endpoints": None, "profile": None, "max_retries": None, **config}
        if "endpoints" in config:
            full["endpoints"] = {"s3": None, "sts": None, "iam": None, **config["endpoints"]}
        (folder / ".terraform" / "terraform.tfstate").write_text(
            json.dumps({"version": 3, "backend": {"type": "s3", "config": full, "hash": 1}})
        )

    for recorded, wanted, changed in [
        (base, base, False),
        (with_endpoints, with_endpoints, False),
        (base, with_endpoints, True),
        (with_endpoints, base, True),
        (with_endpoints, {**with_endpoints, "endpoints": {"s3": "http://127.0.0.1:5000"}}, True),
    ]:
        record(recorded)
        stack(folder, {"s3": wanted})
        assert forget_changed_backend(folder) is changed, (recorded, wanted)
        assert (folder / ".terraform" / "terraform.tfstate").exists() is not changed
    stack(folder, {"local": {}})
    record(base)
    assert forget_changed_backend(folder) is True  # another kind of backend
    assert forget_changed_backend(tmp_path / "never-initialized") is False
