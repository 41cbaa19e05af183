"""Serving on AWS: per endpoint a SageMaker model, endpoint configuration with data capture,
endpoint and target-tracking autoscaling. Serving reads only the registry."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle
from cdktn_provider_aws.appautoscaling_policy import AppautoscalingPolicy
from cdktn_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktn_provider_aws.iam_role import IamRole
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
from mlops_blueprint.stacks.aws.catalog import CATALOG
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


@dataclass(frozen=True)
class ServingProps:
    """spec: endpoints (omitted: cpu-medium, 1..2 replicas, capture 100 % of requests). Each endpoint's
    storage is encrypted with the `ml` key, except on instance types with local instance storage (the
    catalog's `serving_instance_storage`: gpu-small, gpu-medium), where SageMaker refuses a key and the
    hardware encrypts it; captured requests are encrypted with the `ml` key on every instance type."""

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
        )
        self.endpoints: dict[str, SagemakerEndpoint] = {}
        self.names: dict[str, str] = {}
        self.private: dict[str, bool] = {}
        # Private endpoints are invoked only through the platform's SageMaker runtime VPC endpoint.
        self._runtime_vpce = b.interface_endpoints["sagemaker.runtime"]
        for name, ep in props.spec.endpoints.items():
            ep_name = n.endpoint(name)
            instance = CATALOG.serving_instance(ep.size)
            if instance is None:
                raise ValueError(f"endpoint {name!r}: size {ep.size!r} has no AWS instance type")
            model = SagemakerModel(
                self,
                f"{name}-model",
                name=ep_name,
                execution_role_arn=self.role.arn,
                enable_network_isolation=True,
                primary_container=SagemakerModelPrimaryContainer(
                    image=reg.image_uri(ep.model, ep.image_tag),
                    model_data_url=f"s3://{reg.artifacts.name}/{ep.model}/{ep.image_tag}/model.tar.gz",
                ),
                vpc_config={"subnets": b.subnet_ids, "security_group_ids": [b.workload_sg.id]},
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
