"""One on-prem TerraformStack per environment: the kubernetes and helm providers, both on the
target's kubeconfig context, and Terraform's kubernetes state backend (a Secret with lease locking
in a namespace of its own); then the one composition (`stacks/compose.py`) with the on-prem constructs."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformOutput, TerraformStack
from cdktn_provider_helm.provider import HelmProvider
from cdktn_provider_kubernetes.provider import KubernetesProvider
from constructs import Construct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.modules.baseline.onprem import BaselineProps, OnpremBaseline
from mlops_blueprint.modules.catalog.onprem import CatalogProps, OnpremCatalog
from mlops_blueprint.modules.data_lake.onprem import DataLakeProps, OnpremDataLake
from mlops_blueprint.modules.monitoring.onprem import MonitoringProps, OnpremMonitoring
from mlops_blueprint.modules.onprem_common import Principal
from mlops_blueprint.modules.registry.onprem import OnpremRegistry, RegistryProps
from mlops_blueprint.modules.serving.onprem import OnpremServing, ServingProps
from mlops_blueprint.modules.training.onprem import OnpremTraining, TrainingProps
from mlops_blueprint.stacks.compose import Platform, compose
from mlops_blueprint.stacks.onprem import PLATFORM_LABEL
from mlops_blueprint.stacks.onprem.names import OnpremNames
from mlops_blueprint.stacks.settings import DeploySettings


def labels_for(env: ResolvedEnv) -> dict[str, str]:
    """Kubernetes labels: the tags, as label-safe values (an e-mail's @ becomes `-at-`)."""
    md = env.blueprint.metadata
    return {
        "mlops.io/blueprint": md.name,
        PLATFORM_LABEL: env.name,
        "mlops.io/owner": md.owner.replace("@", "-at-"),
        "mlops.io/cost-center": md.cost_center,
        "mlops.io/data-classification": md.data_classification,
        "app.kubernetes.io/managed-by": "mlops-blueprint",
    }


@dataclass
class OnpremKit:
    env: ResolvedEnv
    names: OnpremNames

    @property
    def protect(self) -> bool:
        return self.env.settings.protect_stateful

    def baseline(self, scope: Construct, id: str) -> OnpremBaseline:
        bp = self.env.blueprint
        notify = tuple(bp.components.monitoring.notify) if bp.components.monitoring else (bp.metadata.owner,)
        return OnpremBaseline(
            scope,
            id,
            props=BaselineProps(
                naming=self.names,
                spec=bp.baseline,
                target=bp.target,
                notify=notify,
                labels=labels_for(self.env),
                protect=self.protect,
            ),
        )

    def data_lake(self, scope: Construct, id: str, baseline: OnpremBaseline) -> OnpremDataLake:
        bp = self.env.blueprint
        assert bp.components.data_lake is not None
        return OnpremDataLake(
            scope,
            id,
            props=DataLakeProps(
                naming=self.names, spec=bp.components.data_lake, baseline=baseline, protect=self.protect
            ),
        )

    def catalog(
        self, scope: Construct, id: str, baseline: OnpremBaseline, lake: OnpremDataLake | None
    ) -> OnpremCatalog:
        bp = self.env.blueprint
        assert bp.components.catalog is not None
        return OnpremCatalog(
            scope,
            id,
            props=CatalogProps(
                naming=self.names, spec=bp.components.catalog, baseline=baseline, lake=lake, protect=self.protect
            ),
        )

    def training(self, scope: Construct, id: str, baseline: OnpremBaseline) -> OnpremTraining:
        bp = self.env.blueprint
        assert bp.components.training is not None
        return OnpremTraining(
            scope,
            id,
            props=TrainingProps(
                naming=self.names, spec=bp.components.training, baseline=baseline, protect=self.protect
            ),
        )

    def registry(self, scope: Construct, id: str, baseline: OnpremBaseline) -> OnpremRegistry:
        bp = self.env.blueprint
        assert bp.components.registry is not None
        return OnpremRegistry(
            scope,
            id,
            props=RegistryProps(
                naming=self.names, spec=bp.components.registry, baseline=baseline, protect=self.protect
            ),
        )

    def serving(self, scope: Construct, id: str, baseline: OnpremBaseline, registry: OnpremRegistry) -> OnpremServing:
        bp = self.env.blueprint
        assert bp.components.serving is not None
        return OnpremServing(
            scope,
            id,
            props=ServingProps(
                naming=self.names,
                spec=bp.components.serving,
                baseline=baseline,
                registry=registry,
                protect=self.protect,
            ),
        )

    def monitoring(
        self,
        scope: Construct,
        id: str,
        baseline: OnpremBaseline,
        serving: OnpremServing | None,
        training: OnpremTraining | None,
        capacity: dict[str, int],
    ) -> OnpremMonitoring:
        bp = self.env.blueprint
        assert bp.components.monitoring is not None
        return OnpremMonitoring(
            scope,
            id,
            props=MonitoringProps(
                naming=self.names,
                spec=bp.components.monitoring,
                baseline=baseline,
                serving=serving,
                training=training,
                serving_capacity=capacity,
            ),
        )

    def workloads(self, p: Platform[Principal]) -> None:
        """Training jobs read what data scientists read and log to MLflow; served models read the registry."""
        training, registry, lake = p.training, p.registry, p.lake
        if isinstance(training, OnpremTraining) and isinstance(lake, OnpremDataLake):
            ds = self.env.blueprint.access.data_scientists.lake
            lake.grant(training.trainer, read=[z for z in ds.read if z in lake.zones], write=[], id="trainer-lake")
        if isinstance(training, OnpremTraining) and isinstance(registry, OnpremRegistry):
            registry.grant_push(training.trainer, id="trainer-registry")

    def outputs(self, scope: Construct, p: Platform[Principal]) -> None:
        TerraformOutput(
            scope,
            "persona_service_accounts",
            value={k: f"{a.namespace}/{a.name}" for k, a in p.baseline.personas.items()},
        )
        if isinstance(p.baseline, OnpremBaseline):
            TerraformOutput(scope, "namespaces", value=dict(p.baseline.namespaces))
        if isinstance(p.lake, OnpremDataLake):
            TerraformOutput(scope, "lake_buckets", value=dict(p.lake.buckets))
        if isinstance(p.serving, OnpremServing):
            TerraformOutput(scope, "endpoints", value=dict(p.serving.names))
        if isinstance(p.training, OnpremTraining):
            TerraformOutput(scope, "cluster_queues", value=dict(p.training.queues))


class OnpremEnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp = env.blueprint
        n = OnpremNames(bp.metadata.name, env.name)
        context = bp.target.kube_context
        if context is None:  # the validator refuses this first
            raise ValueError("target.kube_context is required for onprem")
        # The kubeconfig file comes from KUBE_CONFIG_PATH (the providers' own variable); the context is the target's.
        KubernetesProvider(self, "kubernetes", config_context=context)
        HelmProvider(self, "helm", kubernetes={"config_context": context})
        # cdktn has no construct for the kubernetes backend: the stack's default (local) one is replaced.
        self.add_override("terraform.backend.local", None)
        self.add_override(
            "terraform.backend.kubernetes",
            {"secret_suffix": n.state_secret_suffix, "namespace": n.state_namespace, "config_context": context},
        )

        compose(self, OnpremKit(env, n))
