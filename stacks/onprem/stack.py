"""One on-prem TerraformStack per environment: the kubernetes and helm providers, both on the
target's kubeconfig context, and Terraform's kubernetes state backend (a Secret with lease locking
in a namespace of its own); then the one composition (`stacks/compose.py`) with the on-prem constructs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

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
from mlops_blueprint.stacks.compose import KitBase, Part, Parts, Platform, compose
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
class OnpremKit(KitBase[Principal]):
    """The on-prem constructs, each given its props from the environment."""

    parts: ClassVar[Parts[Principal]] = Parts(
        data_lake=Part(OnpremDataLake, DataLakeProps),
        catalog=Part(OnpremCatalog, CatalogProps),
        training=Part(OnpremTraining, TrainingProps),
        registry=Part(OnpremRegistry, RegistryProps),
        serving=Part(OnpremServing, ServingProps),
        monitoring=Part(OnpremMonitoring, MonitoringProps),
    )

    names: OnpremNames

    def baseline(self, scope: Construct, id: str) -> OnpremBaseline:
        bp = self.env.blueprint
        props = BaselineProps(
            naming=self.names,
            spec=bp.baseline,
            target=bp.target,
            notify=self.notify,
            labels=labels_for(self.env),
            protect=self.protect,
        )
        return OnpremBaseline(scope, id, props=props)

    def workloads(self, p: Platform[Principal]) -> None:
        """Training jobs read what data scientists read and log to MLflow; served models read the registry."""
        training, registry, lake = p.training, p.registry, p.lake
        if isinstance(training, OnpremTraining) and isinstance(lake, OnpremDataLake):
            self.grant_trainer_lake(lake, training.trainer)
        if isinstance(training, OnpremTraining) and isinstance(registry, OnpremRegistry):
            registry.grant_push(training.trainer, id="trainer-registry")

    def outputs(self, scope: Construct, p: Platform[Principal]) -> None:
        """The outputs contract (README, "Outputs"): stable names, maps keyed by the blueprint's logical names."""
        personas = {k: f"{a.namespace}/{a.name}" for k, a in p.baseline.personas.items()}
        TerraformOutput(scope, "persona_service_accounts", value=personas)
        TerraformOutput(scope, "persona_roles", value=personas)
        if isinstance(p.baseline, OnpremBaseline):
            TerraformOutput(scope, "namespaces", value=dict(p.baseline.namespaces))
        if isinstance(p.lake, OnpremDataLake):
            TerraformOutput(scope, "lake_buckets", value=dict(p.lake.buckets))
        if isinstance(p.catalog, OnpremCatalog):
            TerraformOutput(scope, "catalog_databases", value=dict(p.catalog.databases))
        if isinstance(p.training, OnpremTraining):
            TerraformOutput(scope, "cluster_queues", value=dict(p.training.queues))
            TerraformOutput(scope, "training_pools", value=dict(p.training.queues))
        if isinstance(p.registry, OnpremRegistry):
            reg = p.registry
            TerraformOutput(
                scope,
                "registry_repositories",
                value={m: f"{reg.registry_host}/{reg.project}/{m}" for m in reg.models},
            )
            TerraformOutput(scope, "registry_model_groups", value=dict(reg.models))
        if isinstance(p.serving, OnpremServing):
            srv = p.serving
            TerraformOutput(scope, "endpoints", value=dict(srv.names))
            TerraformOutput(
                scope,
                "endpoint_urls",
                value={k: f"http://{n}-predictor.{srv.namespace}.svc.cluster.local" for k, n in srv.names.items()},
            )
        if isinstance(p.monitoring, OnpremMonitoring):
            TerraformOutput(
                scope, "alert_topic", value=f"http://alertmanager-operated.{p.monitoring.namespace}.svc:9093"
            )


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
