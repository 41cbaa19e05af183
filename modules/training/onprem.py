"""GPU training on an existing Kubernetes cluster: Kueue for queueing and quota, the NVIDIA GPU
Operator for drivers, device plugin (GPU sharing) and DCGM telemetry, and per blueprint pool a Kueue
ResourceFlavor, ClusterQueue and LocalQueue.

Charts (reviewed 2026-11 against the newest release tags in the upstream repositories):
- Kueue 0.19.2 (`oci://registry.k8s.io/kueue/charts/kueue`, app v0.19.2): the CNCF/SIG-Scheduling job
  queueing controller; its v1beta2 API (storage version since 0.15) is what the manifests use. The
  chart's image default is a floating staging tag (`release-0.19`), so the released image is pinned.
- NVIDIA GPU Operator v26.7.0 (`https://helm.ngc.nvidia.com/nvidia`): driver, container toolkit,
  device plugin (time-slicing configs), MIG manager (mig-parted configs) and DCGM exporter. The
  operator and validator images default to the chart's appVersion and are pinned here explicitly.
Neither chart publishes a values.schema.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from cdktn_provider_kubernetes.namespace_v1 import NamespaceV1
from cdktn_provider_kubernetes.network_policy_v1 import NetworkPolicyV1
from cdktn_provider_kubernetes.service_account_v1 import ServiceAccountV1
from constructs import Construct

from mlops_blueprint.blueprints.model import Training
from mlops_blueprint.blueprints.neutral import mig_instances
from mlops_blueprint.modules.baseline.onprem import OnpremBaseline
from mlops_blueprint.modules.k8s_common import (
    CPU_PER_GPU,
    GPU_RESOURCE,
    GPU_TOLERATION,
    KUEUE_API,
    KUEUE_IMAGE,
    KUEUE_VERSION,
    MEMORY_PER_GPU_GI,
    SUBMIT_RULES,
    GpuQuota,
    gpu_quota,
    k8s_name,
    kueue,
    pool_queues,
)
from mlops_blueprint.modules.onprem_common import CHARTS, Chart, Principal, release
from mlops_blueprint.stacks.onprem.names import OnpremNames

# The Kueue pieces and GPU constants live in modules/k8s_common.py (shared with the clouds' cluster
# stacks); these names stay importable from here.
__all__ = [
    "CPU_PER_GPU",
    "GPU_RESOURCE",
    "GPU_TOLERATION",
    "KUEUE_API",
    "KUEUE_IMAGE",
    "KUEUE_VERSION",
    "MEMORY_PER_GPU_GI",
    "SUBMIT_RULES",
    "GpuQuota",
    "OnpremTraining",
    "TrainingProps",
    "gpu_quota",
    "k8s_name",
]

GPU_OPERATOR_VERSION = "v26.7.0"
CHARTS["gpu-operator"] = Chart(
    repository="https://helm.ngc.nvidia.com/nvidia",
    chart="gpu-operator",
    version=GPU_OPERATOR_VERSION,
    app_version=GPU_OPERATOR_VERSION,
)
DEVICE_PLUGIN_CONFIG = "mlops-device-plugin"  # ConfigMap the GPU operator creates (one key per sharing config)
MIG_PARTED_CONFIG = "mlops-mig-parted"  # ConfigMap of mig-parted configs
# Node labels the GPU operator reads to pick a node's configuration (set on the pool's nodes by the
# cluster's administrators, like the accelerator labels themselves).
DEVICE_PLUGIN_NODE_LABEL = "nvidia.com/device-plugin.config"
MIG_CONFIG_NODE_LABEL = "nvidia.com/mig.config"
DCGM_PORT = 9400


@dataclass(frozen=True)
class TrainingProps:
    """spec: pools (omitted per pool: min_nodes 0, gpus_per_node 1, sharing none). baseline: namespaces,
    node labels of each accelerator (target.gpu_node_labels: required for every pool's accelerator),
    labels. protect: unused on-prem (nothing here holds data; kept for the common construct shape)."""

    naming: OnpremNames
    spec: Training
    baseline: OnpremBaseline
    protect: bool


class OnpremTraining(Construct):
    """Training jobs are Kubernetes Jobs (or Kubeflow/JobSet/Ray jobs) queued by Kueue.

    - Kueue in the baseline's system namespace (its webhooks and API server traffic are allowed
      there), image pinned to the release.
    - The NVIDIA GPU Operator in its own namespace `<prefix>-gpu-operator`, the one namespace with Pod
      Security `privileged`: the driver, container toolkit, device plugin, MIG manager and DCGM exporter
      daemonsets mount host paths, run privileged and load kernel modules, which no other profile admits.
      Its ingress is closed except DCGM metrics (9400) from the monitoring namespace.
      - sharing: one device plugin config per time-sliced pool (key = pool name: `nvidia.com/gpu` shared
        `replicas` times, `failRequestsGreaterThanOne` so a pod cannot ask for two shares as if they were
        two GPUs) plus `default`; MIG strategy `mixed` when any pool uses MIG (slices appear as
        `nvidia.com/mig-<profile>`) else `none`; one mig-parted config `all-<profile>` per profile used.
        The operator applies a config to the nodes carrying `nvidia.com/device-plugin.config=<pool>`
        or `nvidia.com/mig.config=all-<profile>`: the cluster's administrators label the pool's nodes
        (`device_plugin_configs` and `mig_configs` name the values), as they labelled the accelerators.
      - DCGM exporter on with its ServiceMonitor (created by the operator once the Prometheus Operator's
        CRDs exist), relabelled so every series carries the `node` it was measured on.
    - Per pool: a ResourceFlavor (nodeLabels = target.gpu_node_labels[accelerator], toleration
      `nvidia.com/gpu:NoSchedule`), a ClusterQueue taking only LocalQueues of the training namespace,
      with the GPU quota of `gpu_quota()` and CPU/memory of CPU_PER_GPU/MEMORY_PER_GPU_GI per GPU, and a
      LocalQueue `<pool>` in the training namespace (jobs carry `kueue.x-k8s.io/queue-name: <pool>`).
    - `trainer`: the ServiceAccount training pods run as (ServiceAccount `trainer` in the training namespace).

    Scale to zero: the cluster's nodes exist whether used or not. On-prem "scale to zero" means no quota
    is reserved for an idle pool (Kueue admits nothing, so nothing runs), not that nodes go away:
    `min_nodes` is ignored; `max_nodes` sets the quota.
    """

    def __init__(self, scope: Construct, id: str, *, props: TrainingProps):
        super().__init__(scope, id)
        n, b, spec = props.naming, props.baseline, props.spec
        labels_by_acc = b.target.gpu_node_labels or {}
        self.quotas: dict[str, GpuQuota] = {}
        self.node_labels: dict[str, dict[str, str]] = {}
        for name, pool in spec.pools.items():
            node_labels = labels_by_acc.get(pool.accelerator)
            if not node_labels:
                raise ValueError(
                    f"training pool {name!r}: the cluster has no node label for {pool.accelerator} "
                    f"(labelled: {', '.join(labels_by_acc) or 'none'}); add it to "
                    f"target.gpu_node_labels, e.g. {pool.accelerator}: {{nvidia.com/gpu.product: ...}}"
                )
            self.node_labels[name] = dict(node_labels)
            self.quotas[name] = gpu_quota(pool)
        self.sharing: dict[str, str] = {name: pool.sharing.mode for name, pool in spec.pools.items()}
        self.namespace: str = b.namespaces["training"]
        self._baseline = b
        labels = dict(b.labels)
        system = b.system_namespace

        # -- Kueue ----------------------------------------------------------------------------------------
        self.kueue = kueue(self, "kueue", name=n.release("kueue"), namespace=system, depends_on=b.guards["system"])

        # -- NVIDIA GPU Operator --------------------------------------------------------------------------
        self.gpu_namespace: str = n.name("gpu-operator")
        gpu_ns = NamespaceV1(
            self,
            "gpu-operator-namespace",
            metadata=[
                {
                    "name": self.gpu_namespace,
                    "labels": {
                        **labels,
                        "mlops.io/plane": "gpu-operator",
                        # privileged: the operands are host-level (drivers, kernel modules, host paths); see the docstring.
                        **{f"pod-security.kubernetes.io/{m}": "privileged" for m in ("enforce", "audit", "warn")},
                    },
                }
            ],
        )
        # Like every platform namespace: default-deny, quota, limit range; the operator talks to the API
        # server (443/6443) and pulls its driver containers (443).
        b.guard("gpu-operator", self.gpu_namespace, gpu_ns)
        b.allow_egress(self, "gpu-operator-api-server", namespace=self.gpu_namespace, ports=[443, 6443])
        NetworkPolicyV1(
            self,
            "gpu-operator-ingress",
            metadata={"name": "dcgm-metrics-only", "namespace": self.gpu_namespace},
            spec={
                "pod_selector": {},
                "policy_types": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespace_selector": {
                                    "match_labels": {"kubernetes.io/metadata.name": b.namespaces["monitoring"]}
                                }
                            }
                        ],
                        "ports": [{"port": str(DCGM_PORT), "protocol": "TCP"}],
                    }
                ],
            },
            depends_on=[gpu_ns],
        )
        self.device_plugin_configs: dict[str, str] = {}
        self.mig_configs: dict[str, str] = {}
        mig_used = any(p.sharing.mode == "mig" for p in spec.pools.values())
        self.mig_strategy = "mixed" if mig_used else "none"
        plugin_data = {
            "default": yaml.safe_dump({"version": "v1", "flags": {"migStrategy": self.mig_strategy}}, sort_keys=True)
        }
        mig_parted: dict[str, Any] = {"all-disabled": [{"devices": "all", "mig-enabled": False}]}
        for name, pool in spec.pools.items():
            s = pool.sharing
            if s.mode == "time-slicing":
                plugin_data[name] = yaml.safe_dump(
                    {
                        "version": "v1",
                        "flags": {"migStrategy": self.mig_strategy},
                        "sharing": {
                            "timeSlicing": {
                                "renameByDefault": False,
                                "failRequestsGreaterThanOne": True,
                                "resources": [{"name": GPU_RESOURCE, "replicas": s.replicas}],
                            }
                        },
                    },
                    sort_keys=True,
                )
                self.device_plugin_configs[name] = name
            elif s.mode == "mig":
                cfg = f"all-{s.profile}"
                mig_parted[cfg] = [
                    {
                        "devices": "all",
                        "mig-enabled": True,
                        "mig-devices": {s.profile: mig_instances(pool.accelerator, s.profile or "")},
                    }
                ]
                self.mig_configs[name] = cfg
        self.gpu_operator = release(
            self,
            "gpu-operator",
            name=n.release("gpu-operator"),
            chart="gpu-operator",
            namespace=self.gpu_namespace,
            depends_on=[gpu_ns],
            values={
                "operator": {"version": GPU_OPERATOR_VERSION},
                "validator": {"version": GPU_OPERATOR_VERSION},
                "mig": {"strategy": self.mig_strategy},
                "devicePlugin": {
                    "config": {"create": True, "name": DEVICE_PLUGIN_CONFIG, "default": "default", "data": plugin_data}
                },
                "migManager": {
                    "enabled": mig_used,
                    "config": {
                        "create": True,
                        "name": MIG_PARTED_CONFIG,
                        "default": "all-disabled",
                        "data": {
                            "config.yaml": yaml.safe_dump({"version": "v1", "mig-configs": mig_parted}, sort_keys=True)
                        },
                    },
                },
                "dcgmExporter": {
                    "enabled": True,
                    "serviceMonitor": {
                        "enabled": True,
                        "interval": "15s",
                        "honorLabels": False,
                        "relabelings": [
                            {
                                "sourceLabels": ["__meta_kubernetes_pod_node_name"],
                                "targetLabel": "node",
                                "action": "replace",
                            }
                        ],
                    },
                },
            },
        )

        # -- queues ---------------------------------------------------------------------------------------
        training_guard = b.guards["training"]
        queues = pool_queues(
            self,
            spec.pools,
            namespace=self.namespace,
            labels=labels,
            node_labels=self.node_labels,
            flavor_name=n.flavor,
            cluster_queue_name=n.cluster_queue,
            kueue=self.kueue,
            local_queue_depends_on=list(training_guard),
        )
        self.flavors: dict[str, Any] = dict(queues.flavors)
        self.cluster_queues: dict[str, Any] = dict(queues.cluster_queues)
        self.local_queues: dict[str, Any] = dict(queues.local_queues)
        self.queues: dict[str, str] = dict(queues.queues)

        # -- the trainer ----------------------------------------------------------------------------------
        self.trainer = Principal(name="trainer", namespace=self.namespace)
        self.trainer_account = ServiceAccountV1(
            self,
            "trainer",
            metadata={"name": self.trainer.name, "namespace": self.namespace, "labels": labels},
            depends_on=training_guard,
        )

    def grant_submit(self, principal: Principal, *, id: str) -> None:
        """Submit and follow training jobs in the training namespace: batch jobs create/get/list/watch/
        delete, pods and pods/log get/list, Kueue workloads get/list. Nothing cluster-wide."""
        self._baseline.grant(self, k8s_name(id), namespace=self.namespace, principal=principal, rules=SUBMIT_RULES)
