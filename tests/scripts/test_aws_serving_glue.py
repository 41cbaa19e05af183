"""`verify` and `rollout` (scripts/glue/aws.py) on endpoints whose instance type has local instance storage,
against a real emulator process.

SageMaker refuses an endpoint configuration's KmsKeyId when a variant has local instance storage (ml.g5 and
the other families of the catalog's `serving_instance_storage`; the hardware encrypts that storage):
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html. So `verify` accepts
a configuration without a key for exactly those instance types and still demands one for the others, and
`rollout` writes a key into the new configuration only where the new instance type takes one.

Before the first rollout the endpoint serves the stack's bootstrap model (review s5, 5b: AWS's scikit-learn
inference image of the region, the stack's model.tar.gz, the container environment that runs its code):
`verify` accepts exactly that, and after a promotion a version of the endpoint's model group.
"""

from __future__ import annotations

import pytest

from mlops_blueprint.blueprints import loads
from mlops_blueprint.modules.serving.aws import bootstrap_tarball
from mlops_blueprint.scripts.glue import RolloutError
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
ARTIFACTS = "starter-dev-model-artifacts"
BOOTSTRAP = {  # what the stack's aws_sagemaker_model gives the starter's endpoint in eu-central-1
    "Image": "492215442770.dkr.ecr.eu-central-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    "ModelDataUrl": f"s3://{ARTIFACTS}/fraud/bootstrap/model.tar.gz",
    "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
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
    sm, iam, s3 = aws("sagemaker"), aws("iam"), aws("s3")
    names = {m["ModelName"] for m in sm.list_models()["Models"]}
    if EP not in names:
        role = iam.create_role(RoleName="starter-dev-serving", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sm.create_model(ModelName=EP, ExecutionRoleArn=role, PrimaryContainer=BOOTSTRAP)
        sm.create_model_package_group(ModelPackageGroupName="starter-dev-fraud")
        aws("ecr").create_repository(repositoryName="starter-dev/fraud")
        s3.create_bucket(Bucket=ARTIFACTS, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3.put_object(Bucket=ARTIFACTS, Key="fraud/bootstrap/model.tar.gz", Body=bootstrap_tarball())
    counter = iter(range(1000))

    def deploy(instance: str, key: bool, model: str = EP) -> None:
        name = f"{EP}-{instance.replace('.', '-')}-{'key' if key else 'nokey'}-{next(counter)}"
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "primary",
                    "ModelName": model,
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


def test_verify_accepts_the_bootstrap_model_before_the_first_rollout(aws, deployed):
    _, deploy = deployed
    deploy("ml.m5.xlarge", True)
    check = serving_check(starter("cpu-medium"), aws)
    assert check.ok is True, check.detail
    assert check.detail == "InService, bootstrap model (no rollout yet), KMS key, capture 100 %"


@pytest.mark.parametrize(
    "change, says",
    [
        # the stack's model before 5b: the platform's own repository, which nothing ever filled
        (
            {"Image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/starter-dev/fraud:bootstrap"},
            "bootstrap model runs 123456789012.dkr.ecr.eu-central-1.amazonaws.com/starter-dev/fraud:bootstrap, "
            "expected 492215442770.dkr.ecr.eu-central-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        ),
        (
            {"ModelDataUrl": f"s3://{ARTIFACTS}/fraud/v1/model.tar.gz"},
            f"bootstrap model data s3://{ARTIFACTS}/fraud/v1/model.tar.gz, expected "
            f"s3://{ARTIFACTS}/fraud/bootstrap/model.tar.gz",
        ),
        (
            {"Environment": {"SAGEMAKER_PROGRAM": "inference.py"}},
            "bootstrap model environment lacks SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code",
        ),
    ],
)
def test_verify_refuses_a_bootstrap_model_that_could_not_start(aws, deployed, change, says):
    sm, deploy = deployed
    name = f"{EP}-broken-{next(iter(change)).lower()}"
    role = aws("iam").get_role(RoleName="starter-dev-serving")["Role"]["Arn"]
    sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={**BOOTSTRAP, **change})
    deploy("ml.m5.xlarge", True, model=name)
    check = serving_check(starter("cpu-medium"), aws)
    assert check.ok is False and check.detail == says


def test_verify_refuses_a_bootstrap_model_whose_artifact_is_missing(aws, deployed):
    _, deploy = deployed
    deploy("ml.m5.xlarge", True)
    aws("s3").delete_object(Bucket=ARTIFACTS, Key="fraud/bootstrap/model.tar.gz")
    check = serving_check(starter("cpu-medium"), aws)
    assert check.ok is False
    assert check.detail.startswith(f"bootstrap model data s3://{ARTIFACTS}/fraud/bootstrap/model.tar.gz missing (")


def test_after_a_promotion_verify_names_the_model_version(aws, deployed):
    sm, deploy = deployed
    deploy("ml.m5.xlarge", True)
    env = starter("cpu-medium")
    rollout_with(env, "fraud-api", "v-promoted", 10, aws)
    check = serving_check(env, aws)  # a canary beside the bootstrap: the primary is still the bootstrap
    assert check.ok is True and "bootstrap model (no rollout yet)" in check.detail, check.detail
    result = rollout_with(env, "fraud-api", "v-promoted", 100, aws)
    version = result.version.rsplit("/", 1)[-1]
    check = serving_check(env, aws)
    assert check.ok is True and check.detail.startswith(f"InService, model version {version}, "), check.detail


def test_rollout_refuses_the_bootstrap_tag(aws, deployed):
    sm, deploy = deployed
    deploy("ml.m5.xlarge", True)
    before = sm.describe_endpoint(EndpointName=EP)["EndpointConfigName"]
    with pytest.raises(RolloutError, match="--image-tag bootstrap: that tag names the endpoint's bootstrap model"):
        rollout_with(starter("cpu-medium"), "fraud-api", "bootstrap", 100, aws)
    assert sm.describe_endpoint(EndpointName=EP)["EndpointConfigName"] == before
