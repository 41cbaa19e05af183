"""One Azure TerraformStack per environment: the azurerm and azapi providers and the azurerm backend
(the only Azure file that makes them), then the one composition (`stacks/compose.py`) with the Azure
constructs. azurerm has no provider-level default tags, so an aspect tags every taggable resource."""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from cdktn import Aspects, AzurermBackend, IAspect, TerraformOutput, TerraformResource, TerraformStack
from cdktn_provider_azapi.provider import AzapiProvider
from cdktn_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktn_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct, IConstruct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.modules.baseline.azure import AzureBaseline, BaselineProps
from mlops_blueprint.modules.catalog.azure import AzureCatalog, CatalogProps
from mlops_blueprint.modules.data_lake.azure import AzureDataLake, DataLakeProps
from mlops_blueprint.modules.monitoring.azure import AzureMonitoring, MonitoringProps
from mlops_blueprint.modules.registry.azure import AzureRegistry, RegistryProps
from mlops_blueprint.modules.serving.azure import AzureServing, ServingProps
from mlops_blueprint.modules.training.azure import AzureTraining, TrainingProps
from mlops_blueprint.stacks.azure import ENVIRONMENT_TAG
from mlops_blueprint.stacks.azure.names import AzureNames
from mlops_blueprint.stacks.compose import Platform, compose
from mlops_blueprint.stacks.settings import DeploySettings


def tags_for(env: ResolvedEnv) -> dict[str, str]:
    md = env.blueprint.metadata
    return {
        "mlops-blueprint": md.name,
        ENVIRONMENT_TAG: env.name,
        "owner": md.owner,
        "cost-center": md.cost_center,
        "data-classification": md.data_classification,
        "managed-by": "mlops-blueprint",
    }


@jsii.implements(IAspect)
class TagEverything:
    """Give every azurerm resource that takes tags the environment's tags (its own tags win)."""

    def __init__(self, tags: dict[str, str]):
        self.tags = tags

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource) or not node.terraform_resource_type.startswith("azurerm_"):
            return
        if not hasattr(type(node), "tags_input"):
            return
        own = getattr(node, "tags_input", None) or {}
        node.tags = {**self.tags, **own}


@dataclass
class AzureKit:
    """The Azure constructs, each given its props from the environment."""

    env: ResolvedEnv
    names: AzureNames

    @property
    def protect(self) -> bool:
        return self.env.settings.protect_stateful

    def baseline(self, scope: Construct, id: str) -> AzureBaseline:
        bp = self.env.blueprint
        notify = tuple(bp.components.monitoring.notify) if bp.components.monitoring else (bp.metadata.owner,)
        return AzureBaseline(
            scope,
            id,
            props=BaselineProps(
                naming=self.names,
                spec=bp.baseline,
                location=bp.target.region,
                notify=notify,
                tags=tags_for(self.env),
                protect=self.protect,
            ),
        )

    def data_lake(self, scope: Construct, id: str, baseline: AzureBaseline) -> AzureDataLake:
        spec = self.env.blueprint.components.data_lake
        assert spec is not None
        return AzureDataLake(
            scope, id, props=DataLakeProps(naming=self.names, spec=spec, baseline=baseline, protect=self.protect)
        )

    def catalog(self, scope: Construct, id: str, baseline: AzureBaseline, lake: AzureDataLake | None) -> AzureCatalog:
        spec = self.env.blueprint.components.catalog
        assert spec is not None
        return AzureCatalog(
            scope,
            id,
            props=CatalogProps(naming=self.names, spec=spec, baseline=baseline, lake=lake, protect=self.protect),
        )

    def training(self, scope: Construct, id: str, baseline: AzureBaseline) -> AzureTraining:
        bp = self.env.blueprint
        assert bp.components.training is not None
        return AzureTraining(
            scope,
            id,
            props=TrainingProps(
                naming=self.names, spec=bp.components.training, baseline=baseline, protect=self.protect
            ),
        )

    def registry(self, scope: Construct, id: str, baseline: AzureBaseline) -> AzureRegistry:
        spec = self.env.blueprint.components.registry
        assert spec is not None
        return AzureRegistry(
            scope, id, props=RegistryProps(naming=self.names, spec=spec, baseline=baseline, protect=self.protect)
        )

    def serving(self, scope: Construct, id: str, baseline: AzureBaseline, registry: AzureRegistry) -> AzureServing:
        spec = self.env.blueprint.components.serving
        assert spec is not None
        return AzureServing(
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
        baseline: AzureBaseline,
        serving: AzureServing | None,
        training: AzureTraining | None,
        capacity: dict[str, int],
    ) -> AzureMonitoring:
        spec = self.env.blueprint.components.monitoring
        assert spec is not None
        return AzureMonitoring(
            scope,
            id,
            props=MonitoringProps(
                naming=self.names,
                spec=spec,
                baseline=baseline,
                serving=serving,
                training=training,
                serving_capacity=capacity,
            ),
        )

    def workloads(self, p: Platform[UserAssignedIdentity]) -> None:
        """The cluster's kubelet pulls images; training jobs (workload identity) read what data scientists read."""
        training, registry, lake = p.training, p.registry, p.lake
        if isinstance(training, AzureTraining) and isinstance(registry, AzureRegistry):
            registry.grant_pull(training.kubelet, id="kubelet-registry")
        if isinstance(training, AzureTraining) and isinstance(lake, AzureDataLake):
            ds = self.env.blueprint.access.data_scientists.lake
            lake.grant(training.trainer, read=[z for z in ds.read if z in lake.zones], write=[], id="trainer-lake")
        if isinstance(training, AzureTraining) and isinstance(registry, AzureRegistry):
            registry.grant_push(training.trainer, id="trainer-registry")

    def outputs(self, scope: Construct, p: Platform[UserAssignedIdentity]) -> None:
        TerraformOutput(scope, "persona_identities", value={k: i.client_id for k, i in p.baseline.personas.items()})
        if isinstance(p.lake, AzureDataLake):
            TerraformOutput(scope, "lake_filesystems", value={z: fs.name for z, fs in p.lake.zones.items()})
        if isinstance(p.serving, AzureServing):
            TerraformOutput(scope, "endpoints", value=dict(p.serving.names))
        if isinstance(p.training, AzureTraining):
            TerraformOutput(scope, "training_cluster", value=p.training.cluster.name)
        if isinstance(p.registry, AzureRegistry):
            TerraformOutput(scope, "workspace", value=p.registry.workspace.name)


class AzureEnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp = env.blueprint
        n = AzureNames(bp.metadata.name, env.name)
        if bp.target.subscription_id is None:  # the validator refuses this first
            raise ValueError("target.subscription_id is required for azure")
        # Shared keys are off on every storage account: the provider and the backend use Entra ID.
        AzurermProvider(
            self,
            "azurerm",
            features=[AzurermProviderFeatures()],
            subscription_id=bp.target.subscription_id,
            storage_use_azuread=True,
        )
        AzapiProvider(self, "azapi", subscription_id=bp.target.subscription_id)
        AzurermBackend(
            self,
            resource_group_name=n.state_resource_group,
            storage_account_name=n.state_account(bp.state.bucket),
            container_name=n.STATE_CONTAINER,
            key=f"{bp.metadata.name}/{env.name}/terraform.tfstate",
            use_azuread_auth=True,
            subscription_id=bp.target.subscription_id,
        )
        Aspects.of(self).add(TagEverything(tags_for(env)))

        compose(self, AzureKit(env, n))
