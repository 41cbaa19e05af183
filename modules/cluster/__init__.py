"""The in-cluster layer of a cloud's cluster stack (`<blueprint>-<env>-cluster`): everything that needs
the Kubernetes API of the cluster the cloud stack made. Cloud-neutral here (the training namespace,
Kueue with one ResourceFlavor/ClusterQueue/LocalQueue per pool, the trainer ServiceAccount, persona
RBAC); each cloud adds what only it needs in `modules/cluster/<cloud>.py` (AWS: the NodePools; Azure:
the NVIDIA device plugin)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktn_provider_kubernetes.namespace_v1 import NamespaceV1
from cdktn_provider_kubernetes.service_account_v1 import ServiceAccountV1
from constructs import Construct

from mlops_blueprint.blueprints.model import Training
from mlops_blueprint.modules.k8s_common import (
    K8S_REGISTRY,
    KUEUE_IMAGE,
    KUEUE_NAMESPACE,
    POOL_LABEL,
    SUBMIT_RULES,
    PoolQueues,
    kueue,
    namespaced_grant,
    pool_queues,
)

TRAINER = "trainer"


def cluster_labels(blueprint: str, env: str, owner: str, cost_center: str, classification: str) -> dict[str, str]:
    """Kubernetes labels of everything a cluster stack makes: the cloud tags, as label-safe values."""
    return {
        "mlops.io/blueprint": blueprint,
        "mlops.io/environment": env,
        "mlops.io/owner": owner.replace("@", "-at-"),
        "mlops.io/cost-center": cost_center,
        "mlops.io/data-classification": classification,
        "app.kubernetes.io/managed-by": "mlops-blueprint",
    }


@dataclass(frozen=True)
class ClusterLayerProps:
    """prefix: `<blueprint>-<env>` (Kueue object names). namespace: the training namespace the cloud stack
    already grants in (EKS access policies, Azure RBAC, the GKE trainer's workload identity).
    submitters: persona -> RBAC subjects that may submit jobs (empty when the cloud's IAM grants it
    inside the cluster: EKS access policies, Azure RBAC for Kubernetes). trainer_annotations: the
    trainer ServiceAccount's link to its cloud identity."""

    spec: Training
    prefix: str
    namespace: str
    labels: Mapping[str, str]
    submitters: Mapping[str, list[dict[str, str]]] = field(default_factory=dict)
    trainer_annotations: Mapping[str, str] = field(default_factory=dict)
    # GKE advertises each MIG partition as one `nvidia.com/gpu`; elsewhere it is `nvidia.com/mig-<profile>`.
    mig_as_gpu: bool = False
    # Where the nodes pull registry.k8s.io images (Kueue's) from: a mirror inside the network the cloud
    # stack made (AWS: an ECR pull-through cache prefix), or None to pull from registry.k8s.io itself.
    k8s_registry_mirror: str | None = None


class ClusterLayer(Construct):
    """- The training namespace: Pod Security `baseline` enforced, `restricted` warned and audited.
    - Kueue (pinned chart and image) in `kueue-system`; per pool the Kueue objects of `pool_queues`,
      whose ResourceFlavor selects the pool's nodes by `mlops.io/pool=<pool>` (every cloud labels its
      GPU nodes so) and tolerates the `nvidia.com/gpu` taint.
    - `trainer`: the ServiceAccount training pods run as.
    - Per persona in `submitters`: a Role with SUBMIT_RULES in the training namespace, bound to them."""

    def __init__(self, scope: Construct, id: str, *, props: ClusterLayerProps):
        super().__init__(scope, id)
        labels = dict(props.labels)
        self.namespace = props.namespace
        self.training_namespace = NamespaceV1(
            self,
            "training-namespace",
            metadata=[
                {
                    "name": props.namespace,
                    "labels": {
                        **labels,
                        "mlops.io/plane": "training",
                        "pod-security.kubernetes.io/enforce": "baseline",
                        "pod-security.kubernetes.io/warn": "restricted",
                        "pod-security.kubernetes.io/audit": "restricted",
                    },
                }
            ],
        )
        self.kueue_namespace = NamespaceV1(
            self,
            "kueue-namespace",
            metadata=[{"name": KUEUE_NAMESPACE, "labels": {**labels, "mlops.io/plane": "system"}}],
        )
        self.kueue = kueue(
            self,
            "kueue",
            name=f"{props.prefix}-kueue"[:53],
            namespace=KUEUE_NAMESPACE,
            depends_on=[self.kueue_namespace],
            image=KUEUE_IMAGE.replace(K8S_REGISTRY, props.k8s_registry_mirror or K8S_REGISTRY, 1),
        )
        self.queues: PoolQueues = pool_queues(
            self,
            props.spec.pools,
            namespace=props.namespace,
            labels=labels,
            node_labels={name: {POOL_LABEL: name} for name in props.spec.pools},
            flavor_name=lambda pool: f"{props.prefix}-{pool}",
            cluster_queue_name=lambda pool: f"{props.prefix}-{pool}",
            kueue=self.kueue,
            local_queue_depends_on=[self.training_namespace],
            mig_as_gpu=props.mig_as_gpu,
        )
        self.trainer = ServiceAccountV1(
            self,
            "trainer",
            metadata={
                "name": TRAINER,
                "namespace": props.namespace,
                "labels": labels,
                "annotations": dict(props.trainer_annotations),
            },
            depends_on=[self.training_namespace],
        )
        for persona, subjects in props.submitters.items():
            if subjects:
                namespaced_grant(
                    self,
                    f"{persona}-submit",
                    namespace=props.namespace,
                    subjects=subjects,
                    rules=SUBMIT_RULES,
                    labels=labels,
                    depends_on=[self.training_namespace],
                )
