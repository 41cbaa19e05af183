"""On-prem Kubernetes: the cloud package. Everything on-prem-specific is reached through `CLOUD`.

The platform goes onto an existing cluster through Terraform's kubernetes and helm providers: its
parts are the catalog (`catalog.py`), names (`names.py`), the stack with both providers and the
kubernetes state backend (`stack.py`), the constructs (`modules/<component>/onprem.py`), the policy
rules (`policies/rules/onprem/`) and the glue (`scripts/glue/onprem.py`: MLflow and the Kubernetes
API). The target names what the cluster has: a kubeconfig context, its Kubernetes version, a storage
class, an ingress class and the node labels of each accelerator.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_blueprint.blueprints.registry import Cloud
from mlops_blueprint.stacks.onprem.catalog import CATALOG
from mlops_blueprint.stacks.onprem.names import OnpremNames, name_checks

PLATFORM_LABEL = "mlops.io/environment"


def environment_of(doc: dict) -> str:
    """The blueprint environment of a synthesized stack: the label on its namespaces."""
    for ns in doc.get("resource", {}).get("kubernetes_namespace_v1", {}).values():
        for md in ns.get("metadata", []) if isinstance(ns.get("metadata"), list) else [ns.get("metadata") or {}]:
            env = (md.get("labels") or {}).get(PLATFORM_LABEL)
            if env:
                return str(env)
    return ""


def checks(bp) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """What the cluster must say about itself: node labels for every accelerator a pool asks for."""
    t = bp.target  # its Kubernetes version is checked by the generic rule (blueprints/rules.py)
    labels = t.gpu_node_labels or {}
    for name, pool in bp.components.training.pools.items() if bp.components.training else []:
        if pool.accelerator not in labels or not labels[pool.accelerator]:
            known = ", ".join(labels) or "none"
            yield (
                ("components", "training", "pools", name, "accelerator"),
                (
                    f"the cluster has no node label for {pool.accelerator}: add it to target.gpu_node_labels "
                    f"(e.g. {pool.accelerator}: {{nvidia.com/gpu.product: ...}}); labelled now: {known}"
                ),
            )


CLOUD = Cloud(
    name="onprem",
    title="on-prem Kubernetes",
    catalog=CATALOG,
    names=OnpremNames,
    name_checks=name_checks,
    target_fields={
        "kube_context": "the kubeconfig context of the cluster",
        "kubernetes_version": "the cluster's Kubernetes minor version",
        "storage_class": "the StorageClass for the platform's volumes",
        "ingress_class": "the IngressClass for the platform's UIs",
        "gpu_node_labels": "the node labels of each accelerator",
        "object_store": "an existing S3-compatible endpoint for the lake",
    },
    required_target_fields=("kube_context", "kubernetes_version", "storage_class", "ingress_class"),
    stateful_types={
        "kubernetes_persistent_volume_claim_v1": "volume claim",
        "kubernetes_persistent_volume_claim": "volume claim",
        "kubernetes_namespace_v1": "namespace (and everything in it)",
        "kubernetes_namespace": "namespace (and everything in it)",
        "helm_release": "Helm release (object store, MLflow database, registry: their volumes go with them)",
        "kubernetes_stateful_set_v1": "stateful set",
        "kubernetes_secret_v1": "secret",
    },
    provider_keys=("kubernetes", "helm"),
    environment_of=environment_of,
    rules_package="mlops_blueprint.policies.rules.onprem",
    stack="mlops_blueprint.stacks.onprem.stack:OnpremEnvironmentStack",
    glue="mlops_blueprint.scripts.glue.onprem:GLUE",
    no_emulator_hint="there is no embedded Kubernetes API server; synth, check and the manifest validation run offline",
    checks=checks,
)
