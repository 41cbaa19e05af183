"""One GCP TerraformStack per environment: the google and google-beta providers and the GCS backend
(the only GCP file that makes them), then the one composition (`stacks/compose.py`) with the GCP
constructs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cdktn import Fn, GcsBackend, LocalBackend, TerraformOutput, TerraformStack
from cdktn_provider_google.provider import GoogleProvider
from cdktn_provider_google.service_account import ServiceAccount
from cdktn_provider_google_beta.provider import GoogleBetaProvider
from constructs import Construct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.modules.baseline.gcp import BaselineProps, GcpBaseline
from mlops_blueprint.modules.catalog.gcp import CatalogProps, GcpCatalog
from mlops_blueprint.modules.data_lake.gcp import DataLakeProps, GcpDataLake
from mlops_blueprint.modules.gcp_common import label_value, wait_for_apis
from mlops_blueprint.modules.monitoring.gcp import GcpMonitoring, MonitoringProps
from mlops_blueprint.modules.registry.gcp import GcpRegistry, RegistryProps
from mlops_blueprint.modules.serving.gcp import GcpServing, ServingProps
from mlops_blueprint.modules.training.gcp import GcpTraining, TrainingProps
from mlops_blueprint.stacks.compose import Component, KitBase, Part, Parts, Platform, compose
from mlops_blueprint.stacks.gcp.names import GcpNames
from mlops_blueprint.stacks.settings import DeploySettings


def labels_for(env: ResolvedEnv) -> dict[str, str]:
    """The AWS tags, as GCP labels: lowercase; keys with underscores (the provider block's map keys
    are written snake_case by the CDK, so a hyphenated key would not survive); an email's @ and . become -."""
    md = env.blueprint.metadata
    return {
        "mlops_blueprint": md.name,
        "mlops_environment": env.name,
        "owner": label_value(md.owner),
        "cost_center": label_value(md.cost_center),
        "data_classification": md.data_classification,
        "managed_by": "mlops-blueprint",
    }


@dataclass
class GcpKit(KitBase[ServiceAccount]):
    """The GCP constructs, each given its props from the environment."""

    parts: ClassVar[Parts[ServiceAccount]] = Parts(
        data_lake=Part(GcpDataLake, DataLakeProps),
        catalog=Part(GcpCatalog, CatalogProps),
        training=Part(GcpTraining, TrainingProps),
        registry=Part(GcpRegistry, RegistryProps),
        serving=Part(GcpServing, ServingProps),
        monitoring=Part(GcpMonitoring, MonitoringProps),
    )

    names: GcpNames
    project: str

    def baseline(self, scope: Construct, id: str) -> GcpBaseline:
        bp = self.env.blueprint
        props = BaselineProps(
            naming=self.names,
            spec=bp.baseline,
            project=self.project,
            region=bp.target.region,
            notify=self.notify,
            billing_account=bp.target.billing_account,
            protect=self.protect,
        )
        return GcpBaseline(scope, id, props=props)

    def extra_props(self, component: Component) -> dict[str, Any]:
        """Training takes the network's CIDR and the operators' too (the cluster's control plane admits them)."""
        network = self.env.blueprint.baseline.network
        return (
            {"cidr": network.cidr, "operator_cidrs": tuple(network.operator_cidrs)} if component == "training" else {}
        )

    def workloads(self, p: Platform[ServiceAccount]) -> None:
        """Nodes pull images; training jobs read what data scientists read and write model artifacts."""
        training, registry, lake = p.training, p.registry, p.lake
        if isinstance(training, GcpTraining) and isinstance(registry, GcpRegistry):
            registry.grant_pull(training.nodes, id="nodes-registry")
        if isinstance(training, GcpTraining) and isinstance(lake, GcpDataLake):
            self.grant_trainer_lake(lake, training.trainer)
        if isinstance(training, GcpTraining) and isinstance(registry, GcpRegistry):
            registry.artifacts.grant(training.trainer.member, read=True, write=True, id="trainer-artifacts")

    def outputs(self, scope: Construct, p: Platform[ServiceAccount]) -> None:
        """The outputs contract (README, "Outputs"): stable names, maps keyed by the blueprint's logical names."""
        base = p.baseline
        assert isinstance(base, GcpBaseline)
        personas = {k: sa.email for k, sa in base.personas.items()}
        TerraformOutput(scope, "persona_service_accounts", value=personas)
        TerraformOutput(scope, "persona_roles", value=personas)
        if isinstance(p.lake, GcpDataLake):
            TerraformOutput(scope, "lake_buckets", value={z: b.name for z, b in p.lake.zones.items()})
        if isinstance(p.catalog, GcpCatalog):
            TerraformOutput(
                scope, "catalog_databases", value={d: ds.dataset_id for d, ds in p.catalog.datasets.items()}
            )
        if isinstance(p.training, GcpTraining):
            TerraformOutput(scope, "training_cluster", value=p.training.cluster.name)
            TerraformOutput(scope, "training_pools", value={k: np.name for k, np in p.training.node_pools.items()})
        if isinstance(p.registry, GcpRegistry):
            reg = p.registry
            TerraformOutput(scope, "repositories", value={m: r.repository_id for m, r in reg.repositories.items()})
            TerraformOutput(
                scope,
                "registry_repositories",
                value={
                    m: f"{base.region}-docker.pkg.dev/{base.project}/{r.repository_id}"
                    for m, r in reg.repositories.items()
                },
            )
            TerraformOutput(
                scope, "registry_model_groups", value={m: reg.model_display_name(m) for m in reg.repositories}
            )
        if isinstance(p.serving, GcpServing):
            TerraformOutput(scope, "endpoints", value={k: e.name for k, e in p.serving.endpoints.items()})
            api = f"https://{base.region}-aiplatform.googleapis.com/v1"
            TerraformOutput(
                scope, "endpoint_urls", value={k: f"{api}/{e.id}:predict" for k, e in p.serving.endpoints.items()}
            )
        if isinstance(p.monitoring, GcpMonitoring):
            TerraformOutput(scope, "alert_topic", value=Fn.join(",", [c.id for c in base.channels]))


class GcpEnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp = env.blueprint
        n = GcpNames(bp.metadata.name, env.name)
        project, region = bp.target.project_id, bp.target.region
        if project is None:  # the validator refuses this first
            raise ValueError("target.project_id is required for gcp")
        labels = labels_for(env)
        GoogleProvider(self, "google", project=project, region=region, default_labels=labels)
        GoogleBetaProvider(self, "google-beta", project=project, region=region, default_labels=labels)
        if bp.state.backend_for("gcp") == "local":
            LocalBackend(self, path=f"terraform.{n.prefix}.tfstate")
        else:
            GcsBackend(self, bucket=n.state_bucket(bp.state.bucket), prefix=f"{bp.metadata.name}/{env.name}")

        compose(self, GcpKit(env, n, project))
        # Every resource waits for the APIs it calls (a new project has most of them off).
        wait_for_apis(self)
