"""One AWS TerraformStack per environment: the provider and the S3 backend (the only AWS file that
makes them), then the one composition (`stacks/compose.py`) with the AWS constructs."""

from __future__ import annotations

from dataclasses import dataclass

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
from mlops_blueprint.stacks.compose import Platform, compose
from mlops_blueprint.stacks.settings import DeploySettings

# The AWS services the modules use: in local mode under the CDK Terrain CLI, each is pointed at the emulator.
EMULATED_SERVICES = (
    "applicationautoscaling",
    "budgets",
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
class AwsKit:
    """The AWS constructs, each given its props from the environment."""

    env: ResolvedEnv
    names: AwsNames

    @property
    def protect(self) -> bool:
        return self.env.settings.protect_stateful

    @property
    def region(self) -> str:
        return self.env.blueprint.target.region

    def baseline(self, scope: Construct, id: str) -> AwsBaseline:
        bp = self.env.blueprint
        notify = tuple(bp.components.monitoring.notify) if bp.components.monitoring else (bp.metadata.owner,)
        return AwsBaseline(
            scope,
            id,
            props=BaselineProps(
                naming=self.names, spec=bp.baseline, region=self.region, notify=notify, protect=self.protect
            ),
        )

    def data_lake(self, scope: Construct, id: str, baseline: AwsBaseline) -> AwsDataLake:
        spec = self.env.blueprint.components.data_lake
        assert spec is not None
        return AwsDataLake(
            scope, id, props=DataLakeProps(naming=self.names, spec=spec, baseline=baseline, protect=self.protect)
        )

    def catalog(self, scope: Construct, id: str, baseline: AwsBaseline, lake: AwsDataLake | None) -> AwsCatalog:
        spec = self.env.blueprint.components.catalog
        assert spec is not None
        return AwsCatalog(
            scope,
            id,
            props=CatalogProps(naming=self.names, spec=spec, baseline=baseline, lake=lake, protect=self.protect),
        )

    def training(self, scope: Construct, id: str, baseline: AwsBaseline) -> AwsTraining:
        spec = self.env.blueprint.components.training
        assert spec is not None
        return AwsTraining(
            scope, id, props=TrainingProps(naming=self.names, spec=spec, baseline=baseline, protect=self.protect)
        )

    def registry(self, scope: Construct, id: str, baseline: AwsBaseline) -> AwsRegistry:
        spec = self.env.blueprint.components.registry
        assert spec is not None
        return AwsRegistry(
            scope, id, props=RegistryProps(naming=self.names, spec=spec, baseline=baseline, protect=self.protect)
        )

    def serving(self, scope: Construct, id: str, baseline: AwsBaseline, registry: AwsRegistry) -> AwsServing:
        spec = self.env.blueprint.components.serving
        assert spec is not None
        return AwsServing(
            scope,
            id,
            props=ServingProps(
                naming=self.names, spec=spec, baseline=baseline, registry=registry, protect=self.protect
            ),
        )

    def monitoring(
        self,
        scope: Construct,
        id: str,
        baseline: AwsBaseline,
        serving: AwsServing | None,
        training: AwsTraining | None,
        capacity: dict[str, int],
    ) -> AwsMonitoring:
        spec = self.env.blueprint.components.monitoring
        assert spec is not None
        return AwsMonitoring(
            scope,
            id,
            props=MonitoringProps(
                naming=self.names,
                spec=spec,
                baseline=baseline,
                region=self.region,
                serving=serving,
                training=training,
                serving_capacity=capacity,
            ),
        )

    def workloads(self, platform: Platform[IamRole]) -> None:
        """The platform's own roles (serving, crawlers, nodes) get their grants inside their constructs."""

    def outputs(self, scope: Construct, p: Platform[IamRole]) -> None:
        TerraformOutput(scope, "persona_roles", value={k: r.arn for k, r in p.baseline.personas.items()})
        if isinstance(p.lake, AwsDataLake):
            TerraformOutput(scope, "lake_buckets", value={z: b.name for z, b in p.lake.zones.items()})
        if isinstance(p.serving, AwsServing):
            TerraformOutput(scope, "endpoints", value=dict(p.serving.names))
        if isinstance(p.training, AwsTraining):
            TerraformOutput(scope, "training_cluster", value=p.training.cluster.name)


class AwsEnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp = env.blueprint
        n = AwsNames(bp.metadata.name, env.name)
        region = bp.target.region
        local = settings.local
        provider_kwargs: dict = {}
        if local:
            # The emulator: endpoints come from AWS_ENDPOINT_URL in the environment of terraform itself,
            # so this JSON does not depend on the emulator's port. No retries: a missing API fails fast.
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
        AwsProvider(
            self, "aws", region=region, default_tags=[AwsProviderDefaultTags(tags=tags_for(env))], **provider_kwargs
        )
        if settings.provider_constraint:
            self.add_override("terraform.required_providers.aws.version", settings.provider_constraint)

        backend_kwargs: dict = {}
        if local:
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
        S3Backend(
            self,
            bucket=n.state_bucket(bp.state.bucket),
            key=f"{bp.metadata.name}/{env.name}/terraform.tfstate",
            region=region,
            encrypt=True,
            **lock,
            **backend_kwargs,
        )

        compose(self, AwsKit(env, n))
