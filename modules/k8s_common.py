"""The cloud-neutral in-cluster layer, shared by on-prem and by every cloud's cluster stack
(`<blueprint>-<env>-cluster`): pinned Helm releases, raw manifests, Kueue (the controller and, per
blueprint pool, a ResourceFlavor, a ClusterQueue with the pool's GPU quota and a LocalQueue), and
namespaced RBAC. Only the kubernetes and helm bindings: no cloud provider is imported here.

Charts (reviewed 2026-11 against the newest release tags in the upstream repositories):
- Kueue 0.19.2 (`oci://registry.k8s.io/kueue/charts/kueue`, app v0.19.2): the CNCF/SIG-Scheduling job
  queueing controller; its v1beta2 API (storage version since 0.15) is what the manifests use. The
  chart's image default is a floating staging tag (`release-0.19`), so the released image is pinned.
  It publishes no values.schema.json. Its admission webhooks listen on 9443 (`failurePolicy: Fail`) and its
  visibility API server (an APIService) on 8082: `Chart.webhook_ports`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cdktn_provider_helm.release import Release
from cdktn_provider_kubernetes.manifest import Manifest
from cdktn_provider_kubernetes.role_binding_v1 import RoleBindingV1
from cdktn_provider_kubernetes.role_v1 import RoleV1
from constructs import Construct

from mlops_blueprint.blueprints.model import Pool
from mlops_blueprint.blueprints.neutral import GPU_RESOURCE, GpuQuota, device_resource, gpu_quota
from mlops_blueprint.modules.common import protect


@dataclass(frozen=True)
class Principal:
    """A persona (or a platform workload) inside the cluster: a ServiceAccount, and optionally the
    identity-provider group its people arrive as (OIDC `groups` claim), both bound by the same grants."""

    name: str
    namespace: str
    group: str | None = None

    def subjects(self) -> list[dict[str, str]]:
        out = [{"kind": "ServiceAccount", "name": self.name, "namespace": self.namespace}]
        if self.group:
            out.append({"kind": "Group", "name": self.group, "api_group": "rbac.authorization.k8s.io"})
        return out


@dataclass(frozen=True)
class Chart:
    repository: str  # an https Helm repository or an oci:// registry
    chart: str
    version: str  # exact: never a range
    app_version: str = ""
    values_schema: str | None = None  # path of the vendored values.schema.json (None: the chart publishes none)
    # The container ports the API server itself calls: admission webhooks and aggregated API services
    # (an APIService). A private GKE control plane reaches nodes only on 443 and 10250 unless a firewall
    # rule opens these (modules/training/gcp.py); tests/stacks/test_first_apply_classes.py derives them
    # again from the chart's vendored values and templates (tests/schemas/charts) and compares.
    webhook_ports: tuple[int, ...] = ()


# The charts the platform installs (filled in by each component's module; reviewed 2026-11).
CHARTS: dict[str, Chart] = {}


def release(
    scope: Construct,
    id: str,
    *,
    name: str,
    chart: str,
    namespace: str,
    values: dict[str, Any],
    protect_it: bool = False,
    depends_on: list | None = None,
) -> Release:
    """A Helm release of a pinned chart from `CHARTS`, with its values as one YAML document; atomic,
    so a failed install or upgrade rolls back."""
    import yaml

    c = CHARTS[chart]
    return Release(
        scope,
        id,
        name=name,
        repository=c.repository,
        chart=c.chart,
        version=c.version,
        namespace=namespace,
        values=[yaml.safe_dump(values, sort_keys=True)],
        atomic=True,
        cleanup_on_fail=True,
        max_history=5,
        wait=True,
        timeout=900,
        lifecycle=protect(protect_it),
        depends_on=depends_on,
    )


def manifest(
    scope: Construct, id: str, obj: dict[str, Any], *, depends_on: list | None = None, protect_it: bool = False
) -> Manifest:
    """A raw Kubernetes object (custom resources: Kueue, KServe, Prometheus Operator, Karpenter). Tests
    validate every one against the Kubernetes OpenAPI schema of the target version or its vendored CRD schema."""
    return Manifest(scope, id, manifest=obj, depends_on=depends_on, lifecycle=protect(protect_it))


def k8s_name(id: str) -> str:
    """A construct id as a Kubernetes object name (persona ids carry underscores)."""
    return id.replace("_", "-").lower()


# -- Kueue ----------------------------------------------------------------------------------------------

KUEUE_VERSION = "0.19.2"
CHARTS["kueue"] = Chart(
    repository="oci://registry.k8s.io/kueue/charts",
    chart="kueue",
    version=KUEUE_VERSION,
    app_version=f"v{KUEUE_VERSION}",
    # the admission webhooks (values `webhookService.ports[].targetPort`) and the visibility APIService
    # (templates/visibility/service.yaml `targetPort`)
    webhook_ports=(9443, 8082),
)
K8S_REGISTRY = "registry.k8s.io"
KUEUE_IMAGE = f"{K8S_REGISTRY}/kueue/kueue"
KUEUE_API = "kueue.x-k8s.io/v1beta2"
KUEUE_NAMESPACE = "kueue-system"  # the cluster stacks' namespace for it (on-prem: the platform's system namespace)

GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
# The Kueue controller must run on a node: AKS's only untainted pool is its system pool, which
# `only_critical_addons_enabled` taints CriticalAddonsOnly=true:NoSchedule. No effect where no node has it.
CRITICAL_ADDONS_TOLERATION = {"key": "CriticalAddonsOnly", "operator": "Exists"}


def device_toleration(accelerator: str) -> dict[str, str]:
    """The toleration for the NoSchedule taint of a neutral accelerator's nodes."""
    return {"key": device_resource(accelerator), "operator": "Exists", "effect": "NoSchedule"}


POOL_LABEL, ACCELERATOR_LABEL = "mlops.io/pool", "mlops.io/accelerator"
# Kueue must account every resource a workload requests, but the blueprint does not know node sizes:
# each pool's CPU/memory quota is this much per physical GPU (an upper bound; the nodes' allocatable
# capacity stays the real limit; GPUs are the quota that matters).
CPU_PER_GPU, MEMORY_PER_GPU_GI = 16, 128
# What submitting a training job takes in the training namespace: named verbs and resources only.
SUBMIT_RULES = [
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "watch", "delete"]},
    {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads"], "verbs": ["get", "list"]},
]


def kueue(
    scope: Construct,
    id: str,
    *,
    name: str,
    namespace: str,
    depends_on: list | None = None,
    image: str = KUEUE_IMAGE,
) -> Release:
    """The Kueue controller (chart and image pinned to the release; no KueueViz, cert-manager or
    Prometheus ServiceMonitor). It tolerates `CriticalAddonsOnly` (the chart's
    `controllerManager.tolerations`), so it can run on AKS's system pool."""
    return release(
        scope,
        id,
        name=name,
        chart="kueue",
        namespace=namespace,
        depends_on=depends_on,
        values={
            "controllerManager": {
                "manager": {"image": {"repository": image, "tag": f"v{KUEUE_VERSION}", "pullPolicy": "IfNotPresent"}},
                "tolerations": [dict(CRITICAL_ADDONS_TOLERATION)],
            },
            "enableKueueViz": False,
            "enableCertManager": False,
            "enablePrometheus": False,
        },
    )


@dataclass
class PoolQueues:
    """Per blueprint pool: the Kueue objects (ResourceFlavor, ClusterQueue, LocalQueue) and their names."""

    quotas: dict[str, GpuQuota] = field(default_factory=dict)
    flavors: dict[str, Manifest] = field(default_factory=dict)
    cluster_queues: dict[str, Manifest] = field(default_factory=dict)
    local_queues: dict[str, Manifest] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # pool -> ClusterQueue name


def pool_queues(
    scope: Construct,
    pools: Mapping[str, Pool],
    *,
    namespace: str,
    labels: Mapping[str, str],
    node_labels: Mapping[str, Mapping[str, str]],
    flavor_name: Callable[[str], str],
    cluster_queue_name: Callable[[str], str],
    kueue: Any,
    local_queue_depends_on: list | None = None,
    mig_as_gpu: bool = False,
) -> PoolQueues:
    """For each pool: a ResourceFlavor (nodeLabels `node_labels[pool]`, the toleration of its accelerator's
    taint: `nvidia.com/gpu:NoSchedule`, TPU `google.com/tpu:NoSchedule`),
    a ClusterQueue taking only LocalQueues of `namespace`, with the GPU quota of `gpu_quota()` and CPU/memory
    of CPU_PER_GPU/MEMORY_PER_GPU_GI per GPU, and a LocalQueue `<pool>` in `namespace` (jobs carry
    `kueue.x-k8s.io/queue-name: <pool>`). Kueue adds the flavor's node labels and tolerations to the
    admitted workload's pods, so they land on the pool's nodes only. mig_as_gpu: the cluster advertises
    each MIG partition as one `nvidia.com/gpu` (GKE) rather than `nvidia.com/mig-<profile>`."""
    out = PoolQueues()
    for name, pool in pools.items():
        flavor, cq = flavor_name(name), cluster_queue_name(name)
        q = gpu_quota(pool)
        if mig_as_gpu and q.resource.startswith("nvidia.com/mig-"):
            q = GpuQuota(GPU_RESOURCE, q.quantity)
        out.quotas[name] = q
        gpus = pool.max_nodes * pool.gpus_per_node
        pool_labels = {**labels, POOL_LABEL: name}
        out.flavors[name] = manifest(
            scope,
            f"{name}-flavor",
            {
                "apiVersion": KUEUE_API,
                "kind": "ResourceFlavor",
                "metadata": {"name": flavor, "labels": pool_labels},
                "spec": {"nodeLabels": dict(node_labels[name]), "tolerations": [device_toleration(pool.accelerator)]},
            },
            depends_on=[kueue],
        )
        out.cluster_queues[name] = manifest(
            scope,
            f"{name}-cluster-queue",
            {
                "apiVersion": KUEUE_API,
                "kind": "ClusterQueue",
                "metadata": {"name": cq, "labels": pool_labels},
                "spec": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                    "queueingStrategy": "BestEffortFIFO",
                    "resourceGroups": [
                        {
                            "coveredResources": ["cpu", "memory", q.resource],
                            "flavors": [
                                {
                                    "name": flavor,
                                    "resources": [
                                        {"name": "cpu", "nominalQuota": str(gpus * CPU_PER_GPU)},
                                        {"name": "memory", "nominalQuota": f"{gpus * MEMORY_PER_GPU_GI}Gi"},
                                        {"name": q.resource, "nominalQuota": str(q.quantity)},
                                    ],
                                }
                            ],
                        }
                    ],
                },
            },
            depends_on=[kueue, out.flavors[name]],
        )
        out.local_queues[name] = manifest(
            scope,
            f"{name}-local-queue",
            {
                "apiVersion": KUEUE_API,
                "kind": "LocalQueue",
                "metadata": {"name": name, "namespace": namespace, "labels": pool_labels},
                "spec": {"clusterQueue": cq},
            },
            depends_on=[out.cluster_queues[name], *(local_queue_depends_on or [])],
        )
        out.queues[name] = cq
    return out


# -- RBAC -------------------------------------------------------------------------------------------------


def check_rules(id: str, rules: list[dict[str, list[str]]]) -> None:
    """Refuse wildcard verbs, resources or API groups (least privilege)."""
    for r in rules:
        if "*" in r.get("verbs", []) or "*" in r.get("resources", []) or "*" in r.get("apiGroups", []):
            raise ValueError(
                f"role {id!r}: wildcard verbs, resources or API groups are not allowed (least privilege): {r}"
            )


def namespaced_grant(
    scope: Construct,
    id: str,
    *,
    namespace: str,
    subjects: list[dict[str, str]],
    rules: list[dict[str, list[str]]],
    labels: Mapping[str, str],
    depends_on: list | None = None,
) -> RoleV1:
    """A namespaced Role with exactly `rules` (camelCase keys; never `*`) bound to `subjects`
    (`{"kind", "name", "namespace"?, "apiGroup"?}`)."""
    check_rules(id, rules)
    name = k8s_name(id)
    role = RoleV1(
        scope,
        id,
        metadata=[{"name": name, "namespace": namespace, "labels": dict(labels)}],
        rule=[dict(r) for r in rules],
        depends_on=depends_on,
    )
    RoleBindingV1(
        scope,
        f"{id}-binding",
        metadata={"name": name, "namespace": namespace, "labels": dict(labels)},
        role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        subject=[dict(s) for s in subjects],
        depends_on=[role],
    )
    return role
