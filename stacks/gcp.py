"""One GCP TerraformStack per environment: providers (google, google-beta), the GCS backend, the
baseline, the components and the wiring between them (persona grants). The only GCP file that
makes a provider or a backend."""

from __future__ import annotations

from cdktn import GcsBackend, LocalBackend, TerraformOutput, TerraformStack
from cdktn_provider_google.provider import GoogleProvider
from cdktn_provider_google_beta.provider import GoogleBetaProvider
from constructs import Construct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.blueprints.naming import Naming
from mlops_blueprint.modules.baseline.gcp import BaselineProps, GcpBaseline
from mlops_blueprint.modules.catalog.gcp import CatalogProps, GcpCatalog
from mlops_blueprint.modules.data_lake.gcp import DataLakeProps, GcpDataLake
from mlops_blueprint.modules.gcp_common import label_value
from mlops_blueprint.modules.monitoring.gcp import GcpMonitoring, MonitoringProps
from mlops_blueprint.modules.registry.gcp import GcpRegistry, RegistryProps
from mlops_blueprint.modules.serving.gcp import GcpServing, ServingProps
from mlops_blueprint.modules.training.gcp import GcpTraining, TrainingProps
from mlops_blueprint.stacks.settings import DeploySettings
from mlops_blueprint.stacks.wiring import grant_personas


def labels_for(env: ResolvedEnv) -> dict[str, str]:
    """The AWS tags, as GCP labels: lowercase; keys with underscores (the provider block's map keys
    are written snake_case by the CDK, so a hyphenated key would not survive); an email's @ and . become -."""
    md = env.blueprint.metadata
    return {"mlops_blueprint": md.name, "mlops_environment": env.name, "owner": label_value(md.owner),
            "cost_center": label_value(md.cost_center), "data_classification": md.data_classification,
            "managed_by": "mlops-blueprint"}


class GcpEnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp, protect = env.blueprint, env.settings.protect_stateful
        n = Naming(bp.metadata.name, env.name)
        project, region = bp.target.project_id, bp.target.region
        if project is None:  # the validator refuses this first
            raise ValueError("target.project_id is required for gcp")
        labels = labels_for(env)
        GoogleProvider(self, "google", project=project, region=region, default_labels=labels)
        GoogleBetaProvider(self, "google-beta", project=project, region=region, default_labels=labels)
        if bp.state.backend_for("gcp") == "local":
            LocalBackend(self, path=f"terraform.{n.prefix}.tfstate")
        else:
            GcsBackend(self, bucket=n.state_bucket(bp.state.bucket, "gcp"), prefix=f"{bp.metadata.name}/{env.name}")

        c = bp.components
        notify = tuple(c.monitoring.notify) if c.monitoring else (bp.metadata.owner,)
        baseline = GcpBaseline(self, "baseline", props=BaselineProps(
            naming=n, spec=bp.baseline, project=project, region=region, notify=notify,
            billing_account=bp.target.billing_account, protect=protect))
        lake = GcpDataLake(self, "data_lake", props=DataLakeProps(
            naming=n, spec=c.data_lake, baseline=baseline, protect=protect)) if c.data_lake else None
        catalog = GcpCatalog(self, "catalog", props=CatalogProps(
            naming=n, spec=c.catalog, baseline=baseline, lake=lake, protect=protect)) if c.catalog else None
        training = GcpTraining(self, "training", props=TrainingProps(
            naming=n, spec=c.training, baseline=baseline, cidr=bp.baseline.network.cidr, protect=protect)) \
            if c.training else None
        registry = GcpRegistry(self, "registry", props=RegistryProps(
            naming=n, spec=c.registry, baseline=baseline, protect=protect)) if c.registry else None
        serving = GcpServing(self, "serving", props=ServingProps(
            naming=n, spec=c.serving, baseline=baseline, registry=registry, protect=protect)) \
            if c.serving and registry else None
        if c.monitoring:
            capacity = {name: ep.max_replicas * ep.target_invocations_per_replica
                        for name, ep in (c.serving.endpoints.items() if c.serving else [])}
            GcpMonitoring(self, "monitoring", props=MonitoringProps(
                naming=n, spec=c.monitoring, baseline=baseline, serving=serving, training=training,
                serving_capacity=capacity))

        # Platform workloads: nodes pull images; training jobs read what data scientists read.
        if training and registry:
            registry.grant_pull(training.nodes.member, id="nodes-registry")
        if training and lake:
            ds = bp.access.data_scientists.lake
            lake.grant(training.trainer.member, read=[z for z in ds.read if z in lake.zones], write=[], id="trainer-lake")
        if training and registry:
            registry.artifacts.grant(training.trainer.member, read=True, write=True, id="trainer-artifacts")

        # Access: each persona gets exactly what the blueprint's access block says.
        members = {p: sa.member for p, sa in baseline.personas.items()}
        grant_personas(bp, members, lake=lake, catalog=catalog, training=training, registry=registry, serving=serving)

        TerraformOutput(self, "persona_service_accounts", value={p: sa.email for p, sa in baseline.personas.items()})
        if lake:
            TerraformOutput(self, "lake_buckets", value={z: b.name for z, b in lake.zones.items()})
        if serving:
            TerraformOutput(self, "endpoints", value={k: e.name for k, e in serving.endpoints.items()})
        if training:
            TerraformOutput(self, "training_cluster", value=training.cluster.name)
        if registry:
            TerraformOutput(self, "repositories", value={m: r.repository_id for m, r in registry.repositories.items()})
