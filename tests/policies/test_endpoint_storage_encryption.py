"""MLOPS_AWS_019 on instance types with local instance storage, beyond its pass and fail fixtures.

SageMaker refuses an endpoint configuration's KmsKeyId when a variant runs on an instance type with local
instance storage, and the instance's hardware encrypts that storage
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html). The cases are the
rule's pass fixture (the starter's cpu-medium endpoint, with its key) changed one way each, asserted
exactly; and the rule against the synthesized reference whose GPU endpoint has no key.
"""

from __future__ import annotations

import json

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.policies.engine import all_rules, run_rule
from mlops_blueprint.policies.packs import BASELINE
from mlops_blueprint.policies.tfjson import Doc
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT

FIXTURE = ROOT / "policies/fixtures/aws/MLOPS_AWS_019/pass.json"
ADDR = "aws_sagemaker_endpoint_configuration.serving_fraud-api-config_1885382F"
KEY = "${aws_kms_key.baseline_key-ml_C0886365.arn}"


def run(change) -> dict[str, tuple[bool, str]]:
    doc = json.loads(FIXTURE.read_text())
    body = doc["resource"]["aws_sagemaker_endpoint_configuration"]["serving_fraud-api-config_1885382F"]
    change(body)
    findings = run_rule(all_rules()["MLOPS_AWS_019"], str, Doc(doc))
    assert not any(f.error for f in findings)
    return {f.address: (f.passed, f.message) for f in findings}


def on(instance: str, key: bool, canary: str | None = None):
    def change(body: dict) -> None:
        body["production_variants"][0]["instance_type"] = instance
        if canary:
            body["production_variants"].append(
                dict(body["production_variants"][0], variant_name="canary", instance_type=canary)
            )
        if not key:
            body.pop("kms_key_arn")

    return change


@pytest.mark.parametrize(
    "instance, key, canary, passed, says",
    [
        ("ml.m5.xlarge", True, None, True, ""),  # the fixture as is
        ("ml.m5.xlarge", False, None, False, "kms_key_arn is not set"),
        ("ml.g5.xlarge", False, None, True, ""),  # instance storage: no key, the hardware encrypts it
        ("ml.g4dn.2xlarge", False, None, True, ""),
        ("ml.g5.xlarge", True, None, False, "ml.g5.xlarge has local instance storage"),  # the apply would fail
        ("ml.m5.xlarge", True, "ml.g5.xlarge", False, "ml.g5.xlarge has local instance storage"),  # any variant
        ("ml.m5.xlarge", False, "ml.g5.xlarge", True, ""),
        ("${var.instance_type}", False, None, False, "kms_key_arn is not set"),  # unreadable: fail closed
        ("ml.inf2.xlarge", False, None, False, "kms_key_arn is not set"),  # EBS only
    ],
)
def test_the_key_is_demanded_exactly_where_sagemaker_takes_one(instance, key, canary, passed, says):
    got = run(on(instance, key, canary))
    assert list(got) == [ADDR]
    ok, message = got[ADDR]
    assert ok is passed and says in message
    if passed:
        assert message == ""


def test_the_fixture_still_has_the_key_the_cases_remove():
    body = json.loads(FIXTURE.read_text())["resource"]["aws_sagemaker_endpoint_configuration"]
    assert body["serving_fraud-api-config_1885382F"]["kms_key_arn"] == KEY


def test_the_reference_gpu_endpoint_passes_and_checkov_98_is_left_to_the_rule(tmp_path):
    lb = load(ROOT / "blueprints/reference/regulated-enterprise.yaml")
    [res] = synth(lb, [lb.envs["dev"]], tmp_path, DeploySettings())
    findings = run_rule(all_rules()["MLOPS_AWS_019"], str, Doc(json.loads(res.json_path.read_text())))
    got = {f.address.split("_")[-2].removesuffix("-config"): f.passed for f in findings}
    assert got == {"aml-scoring": True, "credit-risk": True}
    # checkov's CKV_AWS_98 reads kms_key_arn alone and would fail aml-scoring: the baseline pack leaves it to
    # MLOPS_AWS_019, which it enforces, and says why.
    assert "MLOPS_AWS_019" in BASELINE.rules
    assert "MLOPS_AWS_019" in BASELINE.checkov_not_enforced["CKV_AWS_98"]
