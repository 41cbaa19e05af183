"""Azure: the NVIDIA device plugin. AKS installs the NVIDIA driver on GPU node pools (`gpu_driver =
Install`) but does not run the device plugin, so without it no node advertises `nvidia.com/gpu`.

Chart: nvidia-device-plugin 0.20.0 (`https://nvidia.github.io/k8s-device-plugin`, app 0.20.0; reviewed
2026-11 against the newest release tag). Its default node affinity needs Node Feature Discovery labels;
AKS runs no NFD, so the daemonset is placed by the pools' own `mlops.io/accelerator` label instead.
"""

from __future__ import annotations

from cdktn_provider_kubernetes.namespace_v1 import NamespaceV1
from constructs import Construct

from mlops_blueprint.modules.k8s_common import ACCELERATOR_LABEL, CHARTS, GPU_TOLERATION, Chart, release

DEVICE_PLUGIN_VERSION = "0.20.0"
CHARTS["nvidia-device-plugin"] = Chart(
    repository="https://nvidia.github.io/k8s-device-plugin",
    chart="nvidia-device-plugin",
    version=DEVICE_PLUGIN_VERSION,
    app_version=DEVICE_PLUGIN_VERSION,
)
DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"


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
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": ACCELERATOR_LABEL, "operator": "Exists"}]}
                            ]
                        }
                    }
                },
                "tolerations": [dict(GPU_TOLERATION)],
                "gfd": {"enabled": False},
                "nfd": {"enabled": False},
            },
        )
