"""No secret value ever appears in what the tool prints or writes (issue 14, part 3).

The whole local flow (up, verify, outputs, rollout, plan, down) and every report format of `check` run
with tokens in the environment (CI tokens, cloud credentials, and a `TF_VAR_` value that terraform
itself reads); then every byte the CLI printed, every report, every file under the output folder (the
stacks, plans and terraform's own files, except the provider binaries) and the tool's home (the
emulator's log) are searched for the emulator's keys, for those tokens, and for every value that
Terraform holds as sensitive in the deployed state (outputs marked sensitive and the attributes the
state lists under `sensitive_attributes`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlops_blueprint.scripts.emulator import ACCESS_KEY, SECRET_KEY
from tests.integration.run import STARTER, run_cli

pytestmark = pytest.mark.integration
TOKENS = {
    "GITHUB_TOKEN": "ghp_" + "Zq7RkD2mXw9LpT4vNc8BfY3hJs6GaE1uQo5i",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEJr//////////wEaDMlopsSessionTok3nZ9q",
    "ARM_CLIENT_SECRET": "azSecret~9Kq2Lm7Xv4Pt8Rw1Zy6Nb3Hc5Jd0Fg",
    "MLFLOW_TRACKING_TOKEN": "mlflowTok-4Hq8Zr2Lx7Vn1Kd9Pw3Bs6Yt0",
    "TF_VAR_registry_password": "tfVarPw-7Jk2Qm9Xc4Rv8Ln1Zs5Hd3",
}
SECRETS = {"emulator access key": ACCESS_KEY, "emulator secret key": SECRET_KEY, **TOKENS}


def run(*args, home: Path) -> str:
    p = run_cli(*args, home=home, **TOKENS)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout + p.stderr


def files_under(root: Path):
    for path in root.rglob("*"):
        if path.is_file() and "providers" not in path.relative_to(root).parts:
            yield path


def leaves(value: object) -> list[str]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in leaves(v)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


def at(value: object, path: list[dict]) -> object:
    """The value at a state `sensitive_attributes` path ([{"type": "get_attr"|"index", "value": ...}])."""
    for step in path:
        key = step.get("value")
        key = key.get("value") if isinstance(key, dict) else key
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int | float) and 0 <= int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def sensitive_values(state: dict) -> dict[str, str]:
    """Every value a Terraform state holds as sensitive (distinctive ones: 8 characters or more)."""
    out: dict[str, str] = {}
    for name, o in state.get("outputs", {}).items():
        if o.get("sensitive"):
            vals = [v for v in leaves(o.get("value")) if len(v) >= 8]
            out.update({f"sensitive output {name} #{k}": v for k, v in enumerate(vals)})
    for r in state.get("resources", []):
        for i, inst in enumerate(r.get("instances", [])):
            for j, path in enumerate(inst.get("sensitive_attributes", [])):
                where = f"sensitive {r.get('type')}.{r.get('name')}[{i}] path {j}"
                vals = [v for v in leaves(at(inst.get("attributes"), path)) if len(v) >= 8]
                out.update({f"{where} #{k}": v for k, v in enumerate(vals)})
    return out


def test_sensitive_values_are_read_from_outputs_and_attributes():
    state = {
        "outputs": {"db": {"value": {"password": "s3cr3t-pass"}, "sensitive": True}, "url": {"value": "https://x.y"}},
        "resources": [
            {
                "type": "aws_secretsmanager_secret_version",
                "name": "v",
                "instances": [
                    {
                        "attributes": {
                            "secret_string": "hunter2-long",
                            "arn": "arn:aws:x",
                            "list": ["a", "tok-12345678"],
                        },
                        "sensitive_attributes": [
                            [{"type": "get_attr", "value": "secret_string"}],
                            [
                                {"type": "get_attr", "value": "list"},
                                {"type": "index", "value": {"value": 1, "type": "number"}},
                            ],
                        ],
                    }
                ],
            }
        ],
    }
    assert sorted(sensitive_values(state).values()) == ["hunter2-long", "s3cr3t-pass", "tok-12345678"]


def test_no_secret_in_any_output_report_or_file(emulator, emulator_home, aws, tmp_path):
    assert len(SECRET_KEY) == 40 and len(ACCESS_KEY) == 20  # long and distinctive: a grep cannot miss them
    out, reports = tmp_path / "cdktf.out", tmp_path / "reports"
    reports.mkdir()
    printed = [
        run("validate", STARTER, home=emulator_home),
        run("up", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home),
        run("verify", STARTER, "--env", "dev", "--local", home=emulator_home),
        run("outputs", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home),
        run(
            "rollout",
            STARTER,
            "--env",
            "dev",
            "--endpoint",
            "fraud-api",
            "--image-tag",
            "v2",
            "--local",
            home=emulator_home,
        ),
        run("plan", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home),
        run("check", STARTER, "--env", "dev", "--output", out, "--format", "json", home=emulator_home),
    ]
    for fmt in ("json", "markdown", "sarif", "junit"):
        printed.append(
            run(
                "check",
                STARTER,
                "--env",
                "dev",
                "--output",
                out,
                "--format",
                fmt,
                "--output-file",
                reports / f"report.{fmt}",
                home=emulator_home,
            )
        )
    # What Terraform itself holds as sensitive in the deployed state (read before `down` removes it).
    state = json.loads(
        aws("s3").get_object(Bucket="starter-dev-tfstate", Key="starter/dev/terraform.tfstate")["Body"].read()
    )
    assert state["resources"] and "outputs" in state  # the deployed state, read whole
    printed.append(run("down", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home))
    secrets = {**SECRETS, **sensitive_values(state)}

    assert re.search(r"\b(\d{2,})/\1 checks passed", printed[1]) and "primary 90%, canary 10%" in printed[4], printed
    assert "lake_buckets" in printed[3], printed[3]  # `outputs` printed the deployed outputs
    # The home's cache (a link to the session's shared cache, tests/conftest.py) is searched too.
    roots = (reports, out, emulator_home, (emulator_home / "cache").resolve())
    written = {p: p.read_bytes() for root in roots for p in files_under(root)}
    assert any(p.suffix == ".sarif" for p in written) and any(p.name == "cdk.tf.json" for p in written)
    assert any(p.name == "emulator.log" for p in written)
    leaks = [
        f"{what} in {where}"
        for what, value in secrets.items()
        for where, text in [(f"output of command #{i}", t.encode()) for i, t in enumerate(printed)]
        + [(str(p), b) for p, b in written.items()]
        if value.encode() in text
    ]
    assert leaks == []
