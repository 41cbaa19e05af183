"""Azure: the NVIDIA device plugin and the DCGM exporter. AKS installs the NVIDIA driver on GPU node pools
(`gpu_driver = Install`) but does not run the device plugin, so without it no node advertises
`nvidia.com/gpu`; nor does it export GPU metrics, so without the exporter the pools' GPU alert
(`DCGM_FI_DEV_GPU_UTIL`, modules/monitoring/azure.py) would never get data.

Chart: nvidia-device-plugin 0.20.0 (`https://nvidia.github.io/k8s-device-plugin`, app 0.20.0; reviewed
2026-11 against the newest release tag). Its default node affinity needs Node Feature Discovery labels;
AKS runs no NFD, so the daemonset is placed by the pools' own `mlops.io/accelerator` label instead.

Chart: dcgm-exporter 4.8.3 (`https://nvidia.github.io/dcgm-exporter/helm-charts`, image
`nvcr.io/nvidia/k8s/dcgm-exporter:4.6.0-4.8.3-ubuntu22.04`, released 2026-07-15; reviewed 2026-11). Not
4.9: it renames DCGM 4.7's deprecated fields and turns utilization into a 0-1 ratio, which the alert's
threshold (a percentage) would misread. Managed Prometheus (the AKS metrics add-on) does not read
`monitoring.coreos.com` monitors, so the chart's ServiceMonitor is off and an `azmonitoring.coreos.com/v1`
PodMonitor asks ama-metrics to scrape the exporter, copying the pod's node name into the `node` label
that the alert joins with `kube_node_labels` on.
"""

from __future__ import annotations

from cdktn_provider_kubernetes.namespace_v1 import NamespaceV1
from constructs import Construct

from mlops_blueprint.modules.k8s_common import ACCELERATOR_LABEL, CHARTS, GPU_TOLERATION, Chart, manifest, release

DEVICE_PLUGIN_VERSION = "0.20.0"
CHARTS["nvidia-device-plugin"] = Chart(
    repository="https://nvidia.github.io/k8s-device-plugin",
    chart="nvidia-device-plugin",
    version=DEVICE_PLUGIN_VERSION,
    app_version=DEVICE_PLUGIN_VERSION,
)
DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"

DCGM_EXPORTER_VERSION = "4.8.3"
DCGM_EXPORTER_IMAGE_TAG = "4.6.0-4.8.3-ubuntu22.04"
CHARTS["dcgm-exporter"] = Chart(
    repository="https://nvidia.github.io/dcgm-exporter/helm-charts",
    chart="dcgm-exporter",
    version=DCGM_EXPORTER_VERSION,
    app_version=DCGM_EXPORTER_VERSION,
)
DCGM_PORT_NAME = "metrics"  # the chart's container port (9400)
# Both daemonsets run on the GPU pools only, placed by the pools' own label (AKS runs no NFD).
ON_GPU_NODES = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": ACCELERATOR_LABEL, "operator": "Exists"}]}]
        }
    }
}


class AzureDevicePlugin(Construct):
    def __init__(self, scope: Construct, id: str, *, prefix: str, labels: dict[str, str], mig: bool = False):
        super().__init__(scope, id)
        self.namespace = NamespaceV1(
            self,
            "namespace",
            metadata=[
                {
                    "name": DEVICE_PLUGIN_NAMESPACE,
                    # host-level: the plugin mounts the kubelet's device-plugin socket directory
                    "labels": {**labels, "mlops.io/plane": "gpu", "pod-security.kubernetes.io/enforce": "privileged"},
                }
            ],
        )
        self.release = release(
            self,
            "device-plugin",
            name=f"{prefix}-nvidia-device-plugin"[:53],
            chart="nvidia-device-plugin",
            namespace=DEVICE_PLUGIN_NAMESPACE,
            depends_on=[self.namespace],
            values={
                "image": {"tag": f"v{DEVICE_PLUGIN_VERSION}"},
                # MIG pools (`gpu_instance`): each slice is `nvidia.com/mig-<profile>`, as the Kueue quota counts it
                "migStrategy": "mixed" if mig else "none",
                "affinity": ON_GPU_NODES,
                "tolerations": [dict(GPU_TOLERATION)],
                "gfd": {"enabled": False},
                "nfd": {"enabled": False},
            },
        )
        self.dcgm = release(
            self,
            "dcgm-exporter",
            name=f"{prefix}-dcgm-exporter"[:53],
            chart="dcgm-exporter",
            namespace=DEVICE_PLUGIN_NAMESPACE,
            depends_on=[self.namespace],
            values={
                "image": {"tag": DCGM_EXPORTER_IMAGE_TAG},
                "serviceMonitor": {"enabled": False},
                "nodeSelector": {},
                "affinity": ON_GPU_NODES,
                "tolerations": [dict(GPU_TOLERATION)],
            },
        )
        self.scrape = manifest(
            self,
            "dcgm-podmonitor",
            {
                "apiVersion": "azmonitoring.coreos.com/v1",
                "kind": "PodMonitor",
                "metadata": {"name": "dcgm-exporter", "namespace": DEVICE_PLUGIN_NAMESPACE, "labels": labels},
                "spec": {
                    "selector": {"matchLabels": {"app.kubernetes.io/name": "dcgm-exporter"}},
                    "podMetricsEndpoints": [
                        {
                            "port": DCGM_PORT_NAME,
                            "interval": "30s",
                            "relabelings": [
                                {
                                    "action": "replace",
                                    "sourceLabels": ["__meta_kubernetes_pod_node_name"],
                                    "targetLabel": "node",
                                }
                            ],
                        }
                    ],
                },
            },
            depends_on=[self.dcgm],
        )
