"""Serving on AWS: per endpoint a SageMaker model, endpoint configuration with data capture,
endpoint and target-tracking autoscaling. Serving reads only the registry.

Until its first `rollout`, an endpoint with the default image tag (`bootstrap`) serves a bootstrap model
that needs nothing from the platform's registry, which is empty on the first `up`: AWS's prebuilt
SageMaker scikit-learn inference image (the catalog's `bootstrap_image`, per region) with a tiny
`model.tar.gz` the stack uploads to the artifacts bucket (`<model>/bootstrap/model.tar.gz`). Its
`code/inference.py` answers every request with `BOOTSTRAP_ANSWER`: no model version rolled out yet."""

from __future__ import annotations

import base64
import io
import json
import struct
import tarfile
import zlib
from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle
from cdktn_provider_aws.appautoscaling_policy import AppautoscalingPolicy
from cdktn_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.s3_object import S3Object
from cdktn_provider_aws.sagemaker_endpoint import SagemakerEndpoint
from cdktn_provider_aws.sagemaker_endpoint_configuration import (
    SagemakerEndpointConfiguration,
)
from cdktn_provider_aws.sagemaker_endpoint_configuration import (
    SagemakerEndpointConfigurationDataCaptureConfig as DataCapture,
)
from cdktn_provider_aws.sagemaker_endpoint_configuration import (
    SagemakerEndpointConfigurationDataCaptureConfigCaptureOptions as CaptureOption,
)
from cdktn_provider_aws.sagemaker_endpoint_configuration import (
    SagemakerEndpointConfigurationProductionVariants as Variant,
)
from cdktn_provider_aws.sagemaker_model import SagemakerModel, SagemakerModelPrimaryContainer
from constructs import Construct

from mlops_blueprint.blueprints.model import Serving
from mlops_blueprint.modules.aws_common import BucketProps, SecureBucket, attach, service_role, statement
from mlops_blueprint.modules.baseline.aws import AwsBaseline
from mlops_blueprint.modules.registry.aws import AwsRegistry
from mlops_blueprint.stacks.aws.catalog import BOOTSTRAP_TAG, CATALOG, bootstrap_image, bootstrap_repository_arn
from mlops_blueprint.stacks.aws.names import AwsNames

VARIANT = "primary"
VPC_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
]
# The scikit-learn container runs `SAGEMAKER_PROGRAM` from `SAGEMAKER_SUBMIT_DIRECTORY`; with network
# isolation the code cannot come from S3, so it is inside model.tar.gz, which SageMaker unpacks into
# /opt/ml/model (what the SageMaker Python SDK sets for a network-isolated framework model:
# sagemaker/model.py `_script_mode_env_vars`).
BOOTSTRAP_ENVIRONMENT = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
BOOTSTRAP_ANSWER = {
    "status": "bootstrap",
    "message": "No model version has been rolled out to this endpoint yet: run `mlops-blueprint rollout`.",
}
BOOTSTRAP_CODE = f'''"""The bootstrap model of an mlops-blueprint endpoint: it serves until the first rollout and answers
every request, whatever its body and content type, with the same JSON."""

import json

ANSWER = {json.dumps(BOOTSTRAP_ANSWER)}


def model_fn(model_dir):
    return "bootstrap"


def input_fn(input_data, content_type):
    return None


def predict_fn(input_data, model):
    return ANSWER


def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
'''


def bootstrap_key(model: str) -> str:
    """Where the bootstrap model.tar.gz of `model` lies in the artifacts bucket (the rollout's
    `<model>/<image tag>/model.tar.gz` with the bootstrap tag)."""
    return f"{model}/{BOOTSTRAP_TAG}/model.tar.gz"


def bootstrap_tarball() -> bytes:
    """model.tar.gz holding `code/inference.py` (BOOTSTRAP_CODE): the same bytes on every synth and every
    machine. The tar members have fixed times, owners and modes (ustar, no record padding); the gzip
    framing (RFC 1952, mtime 0, OS "unknown") holds the tar in stored deflate blocks (RFC 1951), so no
    zlib version or build can change the bytes."""
    tar = io.BytesIO()
    members = [("code", None), ("code/inference.py", BOOTSTRAP_CODE.encode())]
    for name, data in members:
        info = tarfile.TarInfo(name)
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        if data is None:
            info.type, info.mode = tarfile.DIRTYPE, 0o755
        else:
            info.size, info.mode = len(data), 0o644
        tar.write(info.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="strict"))
        if data:
            tar.write(data + b"\0" * (-len(data) % tarfile.BLOCKSIZE))
    tar.write(b"\0" * (2 * tarfile.BLOCKSIZE))  # end of archive
    raw = tar.getvalue()
    blocks = [raw[i : i + 0xFFFF] for i in range(0, len(raw), 0xFFFF)] or [b""]
    deflate = b"".join(
        struct.pack("<BHH", int(i == len(blocks) - 1), len(b), len(b) ^ 0xFFFF) + b for i, b in enumerate(blocks)
    )
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"  # deflate, no flags, mtime 0, OS unknown
    return header + deflate + struct.pack("<II", zlib.crc32(raw), len(raw) & 0xFFFFFFFF)


@dataclass(frozen=True)
class ServingProps:
    """spec: endpoints (omitted: cpu-medium, 1..2 replicas, capture 100 % of requests). Each endpoint's
    storage is encrypted with the `ml` key, except on instance types with local instance storage (the
    catalog's `serving_instance_storage`: gpu-small, gpu-medium), where SageMaker refuses a key and the
    hardware encrypts it; captured requests are encrypted with the `ml` key on every instance type.
    An endpoint whose image_tag is omitted (`bootstrap`) starts on the bootstrap model (module docstring);
    with another tag it starts on `<registry repository>:<tag>` and `<model>/<tag>/model.tar.gz`, which
    must exist in the registry before the apply."""

    naming: AwsNames
    spec: Serving
    baseline: AwsBaseline
    registry: AwsRegistry
    protect: bool


class AwsServing(Construct):
    def __init__(self, scope: Construct, id: str, *, props: ServingProps):
        super().__init__(scope, id)
        n, b, reg = props.naming, props.baseline, props.registry
        self.capture = SecureBucket(
            self,
            "capture",
            props=BucketProps(name=n.capture_bucket, kms_key_arn=b.keys["ml"].arn, protect=props.protect),
        )
        self.role = service_role(self, "execution-role", name=n.serving_role, service="sagemaker.amazonaws.com")
        reg.grant_pull(self.role, id="serving-reads-registry")
        attach(
            self,
            "serving-writes-capture",
            self.role,
            *self.capture.write_statements(),
            b.key_statements("ml", write=True),
            statement(
                ["cloudwatch:PutMetricData"],
                ["*"],
                condition={"StringEquals": {"cloudwatch:namespace": "AWS/SageMaker"}},
            ),
            statement(
                ["logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"],
                [f"arn:aws:logs:{b.region}:{b.account_id}:log-group:/aws/sagemaker/Endpoints/{n.prefix}-*"],
            ),
            # Every model has a VPC config, so SageMaker makes the model's network interfaces in the
            # platform's subnets with this role: the nine EC2 actions of "CreateModel API: execution role
            # permissions" (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html). On "*":
            # the Describe* actions take no resource, and AWS documents no narrower form for SageMaker (the
            # page lists the actions without a Resource; an `ec2:Subnet` condition is documented only for
            # CodeBuild's CreateNetworkInterfacePermission, so a condition could make endpoint creation fail).
            statement(VPC_ACTIONS, ["*"], sid="ModelNetworkInterfacesInTheVpc"),
            *self._bootstrap_pull(b.region, props.spec),
        )
        self.endpoints: dict[str, SagemakerEndpoint] = {}
        self.names: dict[str, str] = {}
        self.private: dict[str, bool] = {}
        # Private endpoints are invoked only through the platform's SageMaker runtime VPC endpoint.
        self._runtime_vpce = b.interface_endpoints["sagemaker.runtime"]
        # One bootstrap model.tar.gz per registry model that an endpoint starts on (same bytes for all).
        self.bootstrap_objects: dict[str, S3Object] = {}
        for name, ep in props.spec.endpoints.items():
            ep_name = n.endpoint(name)
            instance = CATALOG.serving_instance(ep.size)
            if instance is None:
                raise ValueError(f"endpoint {name!r}: size {ep.size!r} has no AWS instance type")
            if ep.image_tag == BOOTSTRAP_TAG:
                container, needs = self._bootstrap_container(name, ep.model, b, reg)
            else:
                container, needs = (
                    SagemakerModelPrimaryContainer(
                        image=reg.image_uri(ep.model, ep.image_tag),
                        model_data_url=f"s3://{reg.artifacts.name}/{ep.model}/{ep.image_tag}/model.tar.gz",
                    ),
                    [],
                )
            model = SagemakerModel(
                self,
                f"{name}-model",
                name=ep_name,
                execution_role_arn=self.role.arn,
                enable_network_isolation=True,
                primary_container=container,
                vpc_config={"subnets": b.subnet_ids, "security_group_ids": [b.workload_sg.id]},
                depends_on=needs or None,
            )
            config = SagemakerEndpointConfiguration(
                self,
                f"{name}-config",
                name_prefix=f"{ep_name}-",
                # SageMaker refuses a key for instance storage, which the instance's hardware encrypts
                # (see the catalog's `serving_instance_storage`); captured requests keep the `ml` key.
                kms_key_arn=None if CATALOG.has_instance_storage(instance) else b.keys["ml"].arn,
                production_variants=[
                    Variant(
                        variant_name=VARIANT,
                        model_name=model.name,
                        instance_type=instance,
                        initial_instance_count=ep.min_replicas,
                        initial_variant_weight=1,
                    )
                ],
                data_capture_config=DataCapture(
                    enable_capture=ep.capture_requests,
                    initial_sampling_percentage=ep.capture_percent,
                    destination_s3_uri=f"s3://{self.capture.name}/{name}",
                    kms_key_id=b.keys["ml"].arn,
                    capture_options=[CaptureOption(capture_mode="Input"), CaptureOption(capture_mode="Output")],
                ),
                lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            )
            # `rollout` moves the endpoint to new configurations (canary, promote); Terraform creates it
            # with the bootstrap configuration and then leaves the configuration to rollouts.
            endpoint = SagemakerEndpoint(
                self,
                name,
                name=ep_name,
                endpoint_config_name=config.name,
                lifecycle=TerraformResourceLifecycle(ignore_changes=["endpoint_config_name"]),
            )
            target = AppautoscalingTarget(
                self,
                f"{name}-scaling",
                service_namespace="sagemaker",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                resource_id=f"endpoint/{endpoint.name}/variant/{VARIANT}",
                min_capacity=ep.min_replicas,
                max_capacity=ep.max_replicas,
            )
            AppautoscalingPolicy(
                self,
                f"{name}-scaling-policy",
                name=n.name(name, "invocations"),
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "target_value": ep.target_invocations_per_replica,
                    "scale_in_cooldown": 300,
                    "scale_out_cooldown": 60,
                    "predefined_metric_specification": {
                        "predefined_metric_type": "SageMakerVariantInvocationsPerInstance"
                    },
                },
            )
            self.endpoints[name] = endpoint
            self.names[name] = ep_name
            self.private[name] = ep.private

    @staticmethod
    def _bootstrap_pull(region: str, spec: Serving) -> list[dict]:
        """Pulling the bootstrap image from AWS's registry account of the region (GetAuthorizationToken
        on "*" comes with the registry's grant_pull), when an endpoint starts on it."""
        repo = bootstrap_repository_arn(region)
        if repo is None or not any(ep.image_tag == BOOTSTRAP_TAG for ep in spec.endpoints.values()):
            return []
        actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
        return [statement(actions, [repo], sid="PullTheBootstrapImage")]

    def _bootstrap_container(
        self, endpoint: str, model: str, b: AwsBaseline, reg: AwsRegistry
    ) -> tuple[SagemakerModelPrimaryContainer, list[S3Object]]:
        """The bootstrap model's container for `endpoint` of registry model `model`, and the upload it needs."""
        image = bootstrap_image(b.region)
        if image is None:  # validation refuses the region first (stacks/aws/__init__.py `checks`)
            raise ValueError(
                f"endpoint {endpoint!r}: region {b.region!r} has no SageMaker scikit-learn image for the bootstrap model"
            )
        if model not in self.bootstrap_objects:
            self.bootstrap_objects[model] = S3Object(
                self,
                f"bootstrap-{model}",
                bucket=reg.artifacts.bucket.id,
                key=bootstrap_key(model),
                content_base64=base64.b64encode(bootstrap_tarball()).decode(),
                content_type="application/gzip",
                server_side_encryption="aws:kms",
                kms_key_id=b.keys["ml"].arn,
            )
        container = SagemakerModelPrimaryContainer(
            image=image,
            model_data_url=f"s3://{reg.artifacts.name}/{bootstrap_key(model)}",
            environment=dict(BOOTSTRAP_ENVIRONMENT),
        )
        return container, [self.bootstrap_objects[model]]

    def grant_invoke(self, role: IamRole, *, id: str) -> None:
        """InvokeEndpoint on every endpoint; on a private one (the default) only through the platform's
        SageMaker runtime VPC endpoint (`aws:SourceVpce`), so the role's keys are useless outside it."""
        private = [e.arn for k, e in self.endpoints.items() if self.private[k]]
        public = [e.arn for k, e in self.endpoints.items() if not self.private[k]]
        statements = []
        if private:
            statements.append(
                statement(
                    ["sagemaker:InvokeEndpoint"],
                    private,
                    sid="InvokePrivateEndpoints",
                    condition={"StringEquals": {"aws:SourceVpce": self._runtime_vpce.id}},
                )
            )
        if public:
            statements.append(statement(["sagemaker:InvokeEndpoint"], public, sid="InvokePublicEndpoints"))
        attach(self, id, role, *statements)

    def grant_deploy(self, role: IamRole, *, id: str) -> None:
        """Roll new model versions out: new model + endpoint config, update the endpoint, pass the execution role."""
        arns = [e.arn for e in self.endpoints.values()]
        attach(
            self,
            id,
            role,
            statement(["sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"], arns),
            statement(
                [
                    "sagemaker:CreateModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeModel",
                    "sagemaker:DescribeEndpointConfig",
                ],
                ["*"],
            ),
            statement(
                ["iam:PassRole"],
                [self.role.arn],
                condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
        )
