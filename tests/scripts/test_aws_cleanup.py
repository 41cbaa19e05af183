"""`down`'s rollout clean-up (scripts/glue/aws.py) against a real emulator process, and the emulator's
`gone()` that stops terraform when the emulator dies."""

import json
import subprocess
import sys
import time

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.scripts.glue.aws import cleanup_rollouts_with
from tests.conftest import ROOT

ROLE = "arn:aws:iam::123456789012:role/serving"
EP = "starter-dev-fraud-api"


def variant(model: str, name: str = "primary", weight: float = 1.0) -> dict:
    return {
        "VariantName": name,
        "ModelName": model,
        "InstanceType": "ml.m5.xlarge",
        "InitialInstanceCount": 1,
        "InitialVariantWeight": weight,
    }


def test_cleanup_deletes_versions_first_and_rollout_leftovers_once_unused(aws):
    sm = aws("sagemaker")
    env = load(ROOT / "blueprints/reference/starter.yaml").envs["dev"]
    # What Terraform made: the group, the bootstrap model and its configuration (name_prefix), the endpoint.
    sm.create_model_package_group(ModelPackageGroupName="starter-dev-fraud")
    sm.create_model(ModelName=EP, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    sm.create_endpoint_config(EndpointConfigName=f"{EP}-20261124000000000001", ProductionVariants=[variant(EP)])
    sm.create_endpoint(EndpointName=EP, EndpointConfigName=f"{EP}-20261124000000000001")
    # What two rollouts made: versions 1 and 2, a canary configuration and a promotion.
    arns = []
    for v in (1, 2):
        arns.append(
            sm.create_model_package(
                ModelPackageGroupName="starter-dev-fraud",
                InferenceSpecification={
                    "Containers": [{"Image": "img"}],
                    "SupportedContentTypes": ["application/json"],
                    "SupportedResponseMIMETypes": ["application/json"],
                },
            )["ModelPackageArn"]
        )
        sm.create_model(ModelName=f"{EP}-v{v}", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    sm.create_endpoint_config(
        EndpointConfigName=f"{EP}-v1-10", ProductionVariants=[variant(EP, weight=90), variant(f"{EP}-v1", "canary", 10)]
    )
    sm.create_endpoint_config(EndpointConfigName=f"{EP}-v2-100", ProductionVariants=[variant(f"{EP}-v2")])
    sm.update_endpoint(EndpointName=EP, EndpointConfigName=f"{EP}-v2-100")

    said: list[str] = []
    cleanup_rollouts_with(env, aws, said.append)
    assert sm.list_model_packages(ModelPackageGroupName="starter-dev-fraud")["ModelPackageSummaryList"] == []
    models = {m["ModelName"] for m in sm.list_models()["Models"]}
    configs = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    assert models == {EP, f"{EP}-v2"}  # the endpoint still serves v2; Terraform's own model is Terraform's
    assert configs == {f"{EP}-20261124000000000001", f"{EP}-v2-100"}
    assert f"deleted rollout model {EP}-v1" in said and f"deleted rollout endpoint configuration {EP}-v1-10" in said
    assert sum(s.startswith("deleted model version") for s in said) == 2
    sm.delete_model_package_group(ModelPackageGroupName="starter-dev-fraud")  # now AWS (and the shim) allow it

    # After the destroy the endpoint is gone, and with it the last use of the rollout's leftovers.
    sm.delete_endpoint(EndpointName=EP)
    cleanup_rollouts_with(env, aws, said.append)
    assert {m["ModelName"] for m in sm.list_models()["Models"]} == {EP}
    assert {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]} == {
        f"{EP}-20261124000000000001"
    }
    cleanup_rollouts_with(env, aws, said.append)  # idempotent: nothing left to do, no error


def test_gone_tells_a_dead_emulator_from_a_busy_one(emulator, tmp_path, monkeypatch):
    from mlops_blueprint.scripts import emulator as emu

    assert emu.gone() is False  # the fixture's emulator answers
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))
    assert emu.gone() is True  # nothing recorded
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "emulator.json").write_text(json.dumps({"pid": dead.pid, "port": emulator.port}))
    assert emu.gone() is True  # its process ended
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    time.sleep(1)  # exited, not reaped: a zombie still "exists" for kill(pid, 0)
    (tmp_path / "emulator.json").write_text(json.dumps({"pid": zombie.pid, "port": emulator.port}))
    assert emu.gone() is True
    zombie.wait()
    (tmp_path / "emulator.json").write_text(json.dumps({"pid": emulator.pid, "port": emulator.port}))
    assert emu.gone() is False


@pytest.fixture(autouse=True)
def _clean(aws):
    yield
    sm = aws("sagemaker")
    for ep in sm.list_endpoints()["Endpoints"]:
        sm.delete_endpoint(EndpointName=ep["EndpointName"])
    for c in sm.list_endpoint_configs()["EndpointConfigs"]:
        sm.delete_endpoint_config(EndpointConfigName=c["EndpointConfigName"])
    for m in sm.list_models()["Models"]:
        sm.delete_model(ModelName=m["ModelName"])
    for p in sm.list_model_packages(ModelPackageType="Both")["ModelPackageSummaryList"]:
        sm.delete_model_package(ModelPackageName=p["ModelPackageArn"])
    for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]:
        sm.delete_model_package_group(ModelPackageGroupName=g["ModelPackageGroupName"])
