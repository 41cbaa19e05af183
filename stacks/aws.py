"""One AWS TerraformStack per environment: provider, backend, baseline, components and the wiring
between them (persona grants). The only AWS file that makes a provider or a backend."""

from __future__ import annotations

from cdktn import S3Backend, TerraformOutput, TerraformStack
from cdktn_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.blueprints.naming import Naming
from mlops_blueprint.modules.baseline.aws import AwsBaseline, BaselineProps
from mlops_blueprint.modules.catalog.aws import AwsCatalog, CatalogProps
from mlops_blueprint.modules.data_lake.aws import AwsDataLake, DataLakeProps
from mlops_blueprint.modules.monitoring.aws import AwsMonitoring, MonitoringProps
from mlops_blueprint.modules.registry.aws import AwsRegistry, RegistryProps
from mlops_blueprint.modules.serving.aws import AwsServing, ServingProps
from mlops_blueprint.modules.training.aws import AwsTraining, TrainingProps
from mlops_blueprint.stacks.settings import DeploySettings
from mlops_blueprint.stacks.wiring import grant_personas


def tags_for(env: ResolvedEnv) -> dict[str, str]:
    md = env.blueprint.metadata
    return {"mlops:blueprint": md.name, "mlops:environment": env.name, "owner": md.owner,
            "cost-center": md.cost_center, "data-classification": md.data_classification,
            "managed-by": "mlops-blueprint"}


class AwsEnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp, protect = env.blueprint, env.settings.protect_stateful
        n = Naming(bp.metadata.name, env.name)
        region = bp.target.region
        local = settings.local
        provider_kwargs: dict = {}
        if local:
            # The emulator: endpoints come from AWS_ENDPOINT_URL in the environment of terraform itself,
            # so this JSON does not depend on the emulator's port. No retries: a missing API fails fast.
            provider_kwargs = dict(skip_credentials_validation=True, skip_metadata_api_check="true",
                                   skip_region_validation=True, s3_use_path_style=True, max_retries=settings.max_retries)
        elif bp.target.account_id:
            provider_kwargs["allowed_account_ids"] = [bp.target.account_id]
        AwsProvider(self, "aws", region=region, default_tags=[AwsProviderDefaultTags(tags=tags_for(env))], **provider_kwargs)
        if settings.provider_constraint:
            self.add_override("terraform.required_providers.aws.version", settings.provider_constraint)

        backend_kwargs: dict = {}
        if local:
            backend_kwargs = dict(use_path_style=True, skip_credentials_validation=True, skip_region_validation=True,
                                  skip_requesting_account_id=True, skip_metadata_api_check=True)
        S3Backend(self, bucket=n.state_bucket(bp.state.bucket), key=f"{bp.metadata.name}/{env.name}/terraform.tfstate",
                  region=region, dynamodb_table=n.lock_table(bp.state.lock_table), encrypt=True, **backend_kwargs)

        c = bp.components
        notify = tuple(c.monitoring.notify) if c.monitoring else (bp.metadata.owner,)
        baseline = AwsBaseline(self, "baseline", props=BaselineProps(
            naming=n, spec=bp.baseline, region=region, notify=notify, protect=protect))
        lake = AwsDataLake(self, "data_lake", props=DataLakeProps(
            naming=n, spec=c.data_lake, baseline=baseline, protect=protect)) if c.data_lake else None
        catalog = AwsCatalog(self, "catalog", props=CatalogProps(
            naming=n, spec=c.catalog, baseline=baseline, lake=lake, protect=protect)) if c.catalog else None
        training = AwsTraining(self, "training", props=TrainingProps(
            naming=n, spec=c.training, baseline=baseline)) if c.training else None
        registry = AwsRegistry(self, "registry", props=RegistryProps(
            naming=n, spec=c.registry, baseline=baseline, protect=protect)) if c.registry else None
        serving = AwsServing(self, "serving", props=ServingProps(
            naming=n, spec=c.serving, baseline=baseline, registry=registry, protect=protect)) \
            if c.serving and registry else None
        if c.monitoring:
            capacity = {name: ep.max_replicas * ep.target_invocations_per_replica
                        for name, ep in (c.serving.endpoints.items() if c.serving else [])}
            AwsMonitoring(self, "monitoring", props=MonitoringProps(
                naming=n, spec=c.monitoring, baseline=baseline, region=region, serving=serving,
                training=training, serving_capacity=capacity))

        # Access: each persona gets exactly what the blueprint's access block says.
        grant_personas(bp, baseline.roles, lake=lake, catalog=catalog, training=training, registry=registry,
                       serving=serving)

        TerraformOutput(self, "persona_roles", value={p: r.arn for p, r in baseline.roles.items()})
        if lake:
            TerraformOutput(self, "lake_buckets", value={z: b.name for z, b in lake.zones.items()})
        if serving:
            TerraformOutput(self, "endpoints", value=dict(serving.names))
        if training:
            TerraformOutput(self, "training_cluster", value=training.cluster.name)
