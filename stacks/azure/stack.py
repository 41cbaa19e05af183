"""One Azure TerraformStack per environment: the azurerm and azapi providers and the azurerm backend
(the only Azure file that makes them), then the one composition (`stacks/compose.py`) with the Azure
constructs. azurerm has no provider-level default tags, so an aspect tags every taggable resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jsii
from cdktn import Aspects, AzurermBackend, IAspect, TerraformOutput, TerraformResource, TerraformStack
from cdktn_provider_azapi.provider import AzapiProvider
from cdktn_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktn_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct, IConstruct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.modules.azure_common import register_resource_providers
from mlops_blueprint.modules.baseline.azure import AzureBaseline, BaselineProps, vnet_parts
from mlops_blueprint.modules.catalog.azure import AzureCatalog, CatalogProps
from mlops_blueprint.modules.data_lake.azure import AzureDataLake, DataLakeProps
from mlops_blueprint.modules.monitoring.azure import AzureMonitoring, MonitoringProps
from mlops_blueprint.modules.registry.azure import AzureRegistry, RegistryProps
from mlops_blueprint.modules.serving.azure import AzureServing, ServingProps
from mlops_blueprint.modules.training.azure import AzureTraining, TrainingProps
from mlops_blueprint.stacks.azure import ENVIRONMENT_TAG
from mlops_blueprint.stacks.azure.names import AzureNames
from mlops_blueprint.stacks.compose import Component, KitBase, Part, Parts, Platform, compose
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
class AzureKit(KitBase[UserAssignedIdentity]):
    """The Azure constructs, each given its props from the environment."""

    parts: ClassVar[Parts[UserAssignedIdentity]] = Parts(
        data_lake=Part(AzureDataLake, DataLakeProps),
        catalog=Part(AzureCatalog, CatalogProps),
        training=Part(AzureTraining, TrainingProps),
        registry=Part(AzureRegistry, RegistryProps),
        serving=Part(AzureServing, ServingProps),
        monitoring=Part(AzureMonitoring, MonitoringProps),
    )

    names: AzureNames
    # The azurerm provider of the runner network's subscription, when that is not the target's.
    runner_provider: AzurermProvider | None = None

    def baseline(self, scope: Construct, id: str) -> AzureBaseline:
        bp = self.env.blueprint
        props = BaselineProps(
            naming=self.names,
            spec=bp.baseline,
            location=bp.target.region,
            notify=self.notify,
            tags=tags_for(self.env),
            protect=self.protect,
            runner_network=bp.target.runner_network,
            runner_provider=self.runner_provider,
        )
        return AzureBaseline(scope, id, props=props)

    def extra_props(self, component: Component) -> dict[str, Any]:
        """Training takes the AKS admin groups (`target.admin_group_object_ids`)."""
        groups = self.env.blueprint.target.admin_group_object_ids or []
        return {"admin_groups": tuple(groups)} if component == "training" else {}

    def workloads(self, p: Platform[UserAssignedIdentity]) -> None:
        """The cluster's kubelet pulls images; training jobs (workload identity) read what data scientists read."""
        training, registry, lake = p.training, p.registry, p.lake
        if isinstance(training, AzureTraining) and isinstance(registry, AzureRegistry):
            registry.grant_pull(training.kubelet, id="kubelet-registry")
        if isinstance(training, AzureTraining) and isinstance(lake, AzureDataLake):
            self.grant_trainer_lake(lake, training.trainer)
        if isinstance(training, AzureTraining) and isinstance(registry, AzureRegistry):
            registry.grant_push(training.trainer, id="trainer-registry")

    def outputs(self, scope: Construct, p: Platform[UserAssignedIdentity]) -> None:
        """The outputs contract (README, "Outputs"): stable names, maps keyed by the blueprint's logical names."""
        personas = p.baseline.personas
        TerraformOutput(scope, "persona_identities", value={k: i.client_id for k, i in personas.items()})
        TerraformOutput(scope, "persona_roles", value={k: i.principal_id for k, i in personas.items()})
        if isinstance(p.lake, AzureDataLake):
            TerraformOutput(scope, "lake_filesystems", value={z: fs.name for z, fs in p.lake.zones.items()})
            TerraformOutput(scope, "lake_buckets", value={z: fs.name for z, fs in p.lake.zones.items()})
        if isinstance(p.catalog, AzureCatalog):
            dbs = self.env.blueprint.components.catalog
            TerraformOutput(scope, "catalog_databases", value={d: d for d in (dbs.databases if dbs else {})})
        if isinstance(p.training, AzureTraining):
            TerraformOutput(scope, "training_cluster", value=p.training.cluster.name)
            TerraformOutput(scope, "training_pools", value={k: np.name for k, np in p.training.node_pools.items()})
        if isinstance(p.registry, AzureRegistry):
            reg = p.registry
            TerraformOutput(scope, "workspace", value=reg.workspace.name)
            TerraformOutput(
                scope, "registry_repositories", value={m: f"{reg.acr.login_server}/{m}" for m in reg.models}
            )
            TerraformOutput(scope, "registry_model_groups", value={m: c.name for m, c in reg.models.items()})
        if isinstance(p.serving, AzureServing):
            TerraformOutput(scope, "endpoints", value=dict(p.serving.names))
            region = self.env.blueprint.target.region
            TerraformOutput(
                scope,
                "endpoint_urls",
                value={k: f"https://{n}.{region}.inference.ml.azure.com/score" for k, n in p.serving.names.items()},
            )
        if isinstance(p.monitoring, AzureMonitoring):
            TerraformOutput(scope, "alert_topic", value=p.monitoring.action_group.id)


def state_backend(stack: TerraformStack, env: ResolvedEnv, *, key: str) -> AzurermBackend:
    """The environment's state container (Entra ID auth); one blob `key` per stack."""
    bp = env.blueprint
    n = AzureNames(bp.metadata.name, env.name)
    return AzurermBackend(
        stack,
        resource_group_name=n.state_resource_group,
        storage_account_name=n.state_account(bp.state.bucket),
        container_name=n.STATE_CONTAINER,
        key=key,
        use_azuread_auth=True,
        subscription_id=bp.target.subscription_id,
    )


class AzureEnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp = env.blueprint
        n = AzureNames(bp.metadata.name, env.name)
        if bp.target.subscription_id is None:  # the validator refuses this first
            raise ValueError("target.subscription_id is required for azure")
        # Shared keys are off on every storage account: the provider and the backend use Entra ID.
        azurerm = AzurermProvider(
            self,
            "azurerm",
            features=[AzurermProviderFeatures()],
            subscription_id=bp.target.subscription_id,
            storage_use_azuread=True,
            # azurerm 5 registers nothing by itself; exactly what the stack uses is named below.
            resource_provider_registrations="none",
        )
        AzapiProvider(self, "azapi", subscription_id=bp.target.subscription_id)
        state_backend(self, env, key=f"{bp.metadata.name}/{env.name}/terraform.tfstate")
        Aspects.of(self).add(TagEverything(tags_for(env)))

        runner = bp.target.runner_network
        runner_subscription = vnet_parts(runner)[0] if runner else None
        runner_provider = (
            AzurermProvider(
                self,
                "azurerm-runner",
                alias="runner",
                features=[AzurermProviderFeatures()],
                subscription_id=runner_subscription,
                storage_use_azuread=True,
                resource_provider_registrations="none",
            )
            if runner_subscription and runner_subscription != bp.target.subscription_id
            else None
        )
        compose(self, AzureKit(env, n, runner_provider))
        # Every resource provider the stack's resources are created through, registered before the first
        # create (a subscription that never used AKS or Azure ML has them unregistered).
        azurerm.resource_providers_to_register = register_resource_providers(self)
