"""One AWS TerraformStack per environment: the provider and the S3 backend (the only AWS file that
makes them), then the one composition (`stacks/compose.py`) with the AWS constructs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cdktn import S3Backend, TerraformOutput, TerraformStack
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.modules.baseline.aws import AwsBaseline, BaselineProps
from mlops_blueprint.modules.catalog.aws import AwsCatalog, CatalogProps
from mlops_blueprint.modules.data_lake.aws import AwsDataLake, DataLakeProps
from mlops_blueprint.modules.monitoring.aws import AwsMonitoring, MonitoringProps
from mlops_blueprint.modules.registry.aws import AwsRegistry, RegistryProps
from mlops_blueprint.modules.serving.aws import AwsServing, ServingProps
from mlops_blueprint.modules.training.aws import AwsTraining, TrainingProps
from mlops_blueprint.stacks.aws.names import AwsNames
from mlops_blueprint.stacks.compose import Component, KitBase, Part, Parts, Platform, compose
from mlops_blueprint.stacks.settings import DeploySettings

# The AWS services the modules use: in local mode under the CDK Terrain CLI, each is pointed at the emulator.
EMULATED_SERVICES = (
    "applicationautoscaling",
    "budgets",
    "cloudtrail",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecr",
    "eks",
    "glue",
    "iam",
    "kms",
    "lakeformation",
    "logs",
    "s3",
    "sagemaker",
    "secretsmanager",
    "sns",
    "sts",
)


def tags_for(env: ResolvedEnv) -> dict[str, str]:
    md = env.blueprint.metadata
    return {
        "mlops:blueprint": md.name,
        "mlops:environment": env.name,
        "owner": md.owner,
        "cost-center": md.cost_center,
        "data-classification": md.data_classification,
        "managed-by": "mlops-blueprint",
    }


@dataclass
class AwsKit(KitBase[IamRole]):
    """The AWS constructs, each given its props from the environment."""

    parts: ClassVar[Parts[IamRole]] = Parts(
        data_lake=Part(AwsDataLake, DataLakeProps),
        catalog=Part(AwsCatalog, CatalogProps),
        training=Part(AwsTraining, TrainingProps),
        registry=Part(AwsRegistry, RegistryProps),
        serving=Part(AwsServing, ServingProps),
        monitoring=Part(AwsMonitoring, MonitoringProps),
    )

    names: AwsNames

    @property
    def region(self) -> str:
        return self.env.blueprint.target.region

    def baseline(self, scope: Construct, id: str) -> AwsBaseline:
        bp = self.env.blueprint
        props = BaselineProps(
            naming=self.names, spec=bp.baseline, region=self.region, notify=self.notify, protect=self.protect
        )
        return AwsBaseline(scope, id, props=props)

    def extra_props(self, component: Component) -> dict[str, Any]:
        """Monitoring takes the region too (the dashboards name it); training, the networks that reach the
        cluster's private API (the platform's and the operators')."""
        if component == "monitoring":
            return {"region": self.region}
        if component == "training":
            network = self.env.blueprint.baseline.network
            return {"api_cidrs": (network.cidr, *network.operator_cidrs)}
        return {}

    def workloads(self, platform: Platform[IamRole]) -> None:
        """Training jobs (the trainer's Pod Identity role) read what data scientists read and read and write
        model artifacts. The platform's other roles (serving, crawlers, nodes) get their grants inside their
        constructs."""
        training, registry, lake = platform.training, platform.registry, platform.lake
        if isinstance(training, AwsTraining) and isinstance(lake, AwsDataLake):
            self.grant_trainer_lake(lake, training.trainer)
        if isinstance(training, AwsTraining) and isinstance(registry, AwsRegistry):
            registry.grant_artifacts(training.trainer, id="trainer-artifacts")

    def outputs(self, scope: Construct, p: Platform[IamRole]) -> None:
        """The outputs contract (README, "Outputs"): stable names, maps keyed by the blueprint's logical names."""
        base = p.baseline
        assert isinstance(base, AwsBaseline)
        TerraformOutput(scope, "persona_roles", value={k: r.arn for k, r in base.personas.items()})
        if isinstance(p.lake, AwsDataLake):
            TerraformOutput(scope, "lake_buckets", value={z: b.name for z, b in p.lake.zones.items()})
            TerraformOutput(scope, "lake_bucket_arns", value={z: b.arn for z, b in p.lake.zones.items()})
            TerraformOutput(scope, "lake_kms_key_arn", value=base.keys["data"].arn)
        if isinstance(p.catalog, AwsCatalog):
            TerraformOutput(scope, "catalog_databases", value={d: db.name for d, db in p.catalog.databases.items()})
        if isinstance(p.training, AwsTraining):
            TerraformOutput(scope, "training_cluster", value=p.training.cluster.name)
            # pool -> its Karpenter NodePool (Auto Mode), created by the cluster stack `<blueprint>-<env>-cluster`
            TerraformOutput(scope, "training_pools", value=dict(p.training.pools))
        if isinstance(p.registry, AwsRegistry):
            TerraformOutput(
                scope, "registry_repositories", value={m: r.repository_url for m, r in p.registry.repositories.items()}
            )
            TerraformOutput(
                scope,
                "registry_model_groups",
                value={m: g.model_package_group_name for m, g in p.registry.groups.items()},
            )
        if isinstance(p.serving, AwsServing):
            TerraformOutput(scope, "endpoints", value=dict(p.serving.names))
            runtime = f"https://runtime.sagemaker.{self.region}.amazonaws.com/endpoints"
            TerraformOutput(
                scope,
                "endpoint_urls",
                value={k: f"{runtime}/{e.name}/invocations" for k, e in p.serving.endpoints.items()},
            )
        if isinstance(p.monitoring, AwsMonitoring):
            TerraformOutput(scope, "alert_topic", value=p.monitoring.topic.arn)


def provider(stack: TerraformStack, env: ResolvedEnv, settings: DeploySettings) -> AwsProvider:
    """The AWS provider of an environment's stacks (the cloud stack and its cluster stack)."""
    bp = env.blueprint
    provider_kwargs: dict = {}
    if settings.local:
        # The emulator: endpoints come from AWS_ENDPOINT_URL in the environment of terraform itself,
        # so this JSON does not depend on the emulator's port. Few retries: an API the emulator lacks
        # fails within seconds, while a request dropped under load is tried again.
        provider_kwargs = dict(
            skip_credentials_validation=True,
            skip_metadata_api_check="true",
            skip_region_validation=True,
            s3_use_path_style=True,
            max_retries=settings.max_retries,
        )
        if settings.endpoint:
            provider_kwargs.update(
                access_key=settings.access_key,
                secret_key=settings.secret_key,
                endpoints=[{s: settings.endpoint for s in EMULATED_SERVICES}],
            )
    elif bp.target.account_id:
        provider_kwargs["allowed_account_ids"] = [bp.target.account_id]
    aws = AwsProvider(
        stack,
        "aws",
        region=bp.target.region,
        default_tags=[AwsProviderDefaultTags(tags=tags_for(env))],
        **provider_kwargs,
    )
    if settings.provider_constraint:
        stack.add_override("terraform.required_providers.aws.version", settings.provider_constraint)
    return aws


def backend(stack: TerraformStack, env: ResolvedEnv, settings: DeploySettings, key: str) -> S3Backend:
    """The S3 backend of an environment's stacks: one bucket, one state object `key` per stack."""
    bp = env.blueprint
    n = AwsNames(bp.metadata.name, env.name)
    backend_kwargs: dict = {}
    if settings.local:
        backend_kwargs = dict(
            use_path_style=True,
            skip_credentials_validation=True,
            skip_region_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check=True,
        )
    if settings.endpoint:  # the CDK Terrain CLI in local mode: the stack itself says where the emulator is
        backend_kwargs.update(
            endpoints={"s3": settings.endpoint, "sts": settings.endpoint, "dynamodb": settings.endpoint},
            access_key=settings.access_key,
            secret_key=settings.secret_key,
        )
    # Locking: the S3 lockfile (Terraform >= 1.10); a blueprint that still names a DynamoDB lock
    # table keeps it (and gets a validation warning with the migration steps).
    lock = {"dynamodb_table": n.lock_table(bp.state.lock_table)} if bp.state.lock_table else {"use_lockfile": True}
    return S3Backend(
        stack,
        bucket=n.state_bucket(bp.state.bucket),
        key=key,
        region=bp.target.region,
        encrypt=True,
        **lock,
        **backend_kwargs,
    )


class AwsEnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp = env.blueprint
        n = AwsNames(bp.metadata.name, env.name)
        provider(self, env, settings)
        backend(self, env, settings, key=f"{bp.metadata.name}/{env.name}/terraform.tfstate")
        compose(self, AwsKit(env, n))
