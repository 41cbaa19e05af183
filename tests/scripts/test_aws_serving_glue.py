"""`verify` and `rollout` (scripts/glue/aws.py) on endpoints whose instance type has local instance storage,
against a real emulator process.

SageMaker refuses an endpoint configuration's KmsKeyId when a variant has local instance storage (ml.g5 and
the other families of the catalog's `serving_instance_storage`; the hardware encrypts that storage):
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html. So `verify` accepts
a configuration without a key for exactly those instance types and still demands one for the others, and
`rollout` writes a key into the new configuration only where the new instance type takes one.
"""

from __future__ import annotations

import pytest

from mlops_blueprint.blueprints import loads
from mlops_blueprint.scripts.glue.aws import rollout_with, verify_with
from tests.conftest import ROOT

EP = "starter-dev-fraud-api"
KEY = "arn:aws:kms:eu-central-1:123456789012:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d"
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": "s3://starter-dev-inference-capture/fraud-api",
    "KmsKeyId": KEY,
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
}


def starter(size: str):
    """The starter's dev environment with its endpoint at `size`, without its GPU pool (no cluster here)."""
    text = (ROOT / "blueprints/reference/starter.yaml").read_text()
    changed = text.replace("fraud-api: {model: fraud, size: cpu-medium,", f"fraud-api: {{model: fraud, size: {size},")
    assert changed != text or size == "cpu-medium"
    pool = "  training:\n    pools:\n      gpu-a: {accelerator: nvidia-l4, gpus_per_node: 1, min_nodes: 0, max_nodes: 4, spot: true}\n"
    override = "    overrides:\n      components.training.pools.gpu-a.max_nodes: 1\n"
    assert pool in changed and override in changed
    changed = changed.replace(pool, "").replace(override, "")
    return loads(changed, name="starter.yaml").envs["dev"]


@pytest.fixture
def deployed(aws):
    """What `up` leaves for the endpoint, on a fresh emulator state per call: (sagemaker client, deploy(config))."""
    sm, iam = aws("sagemaker"), aws("iam")
    names = {m["ModelName"] for m in sm.list_models()["Models"]}
    if EP not in names:
        role = iam.create_role(RoleName="starter-dev-serving", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sm.create_model(ModelName=EP, ExecutionRoleArn=role, PrimaryContainer={"Image": "img"})
        sm.create_model_package_group(ModelPackageGroupName="starter-dev-fraud")
        aws("ecr").create_repository(repositoryName="starter-dev/fraud")
    counter = iter(range(1000))

    def deploy(instance: str, key: bool) -> None:
        name = f"{EP}-{instance.replace('.', '-')}-{'key' if key else 'nokey'}-{next(counter)}"
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "primary",
                    "ModelName": EP,
                    "InstanceType": instance,
                    "InitialInstanceCount": 1,
                    "InitialVariantWeight": 1.0,
                }
            ],
            DataCaptureConfig=CAPTURE,
            **({"KmsKeyId": KEY} if key else {}),
        )
        if EP in {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]}:
            sm.update_endpoint(EndpointName=EP, EndpointConfigName=name)
        else:
            sm.create_endpoint(EndpointName=EP, EndpointConfigName=name)

    return sm, deploy


def serving_check(env, aws):
    [check] = [c for c in verify_with(env, aws) if c.component == "serving"]
    assert check.subject == f"endpoint {EP}"
    return check


@pytest.mark.parametrize(
    "size, instance, key, ok, says",
    [
        ("gpu-small", "ml.g5.xlarge", False, True, "storage encrypted by the hardware (ml.g5.xlarge)"),
        ("gpu-medium", "ml.g5.2xlarge", False, True, "storage encrypted by the hardware (ml.g5.2xlarge)"),
        ("cpu-medium", "ml.m5.xlarge", True, True, "KMS key"),
        ("cpu-medium", "ml.m5.xlarge", False, False, "no KMS key"),
        ("cpu-large", "ml.m5.4xlarge", False, False, "no KMS key"),
    ],
)
def test_verify_demands_the_storage_key_except_on_instance_storage(aws, deployed, size, instance, key, ok, says):
    _, deploy = deployed
    deploy(instance, key)
    check = serving_check(starter(size), aws)
    assert check.ok is ok and says in check.detail, check.detail


def test_verify_still_demands_the_capture_key_on_instance_storage(aws, deployed):
    sm, _ = deployed
    sm.create_endpoint_config(
        EndpointConfigName=f"{EP}-capture-without-key",
        ProductionVariants=[
            {"VariantName": "primary", "ModelName": EP, "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}
        ],
        DataCaptureConfig={k: v for k, v in CAPTURE.items() if k != "KmsKeyId"},
    )
    sm.update_endpoint(EndpointName=EP, EndpointConfigName=f"{EP}-capture-without-key")
    check = serving_check(starter("gpu-small"), aws)
    assert check.ok is False and check.detail == "captured data not KMS-encrypted"


@pytest.mark.parametrize(
    "was, key, size, want_key",
    [
        ("ml.g5.xlarge", False, "gpu-small", None),  # stays on instance storage: no key
        ("ml.m5.xlarge", True, "gpu-small", None),  # moves onto instance storage: the key is dropped
        ("ml.m5.xlarge", True, "cpu-medium", KEY),  # the key is copied
        ("ml.g5.xlarge", False, "cpu-medium", "alias/starter-dev-ml"),  # moves off it: the `ml` key by its alias
    ],
)
def test_rollout_gives_the_new_configuration_a_key_only_where_sagemaker_takes_one(
    aws, deployed, was, key, size, want_key
):
    sm, deploy = deployed
    deploy(was, key)
    for traffic in (10, 100):
        result = rollout_with(starter(size), "fraud-api", f"v-{size}-{traffic}", traffic, aws)
        current = sm.describe_endpoint(EndpointName=EP)["EndpointConfigName"]
        config = sm.describe_endpoint_config(EndpointConfigName=current)
        assert {v["InstanceType"] for v in config["ProductionVariants"]} == {
            {"gpu-small": "ml.g5.xlarge", "cpu-medium": "ml.m5.xlarge"}[size]
        }
        assert config.get("KmsKeyId") == want_key, result.steps
        assert config["DataCaptureConfig"]["KmsKeyId"] == KEY
