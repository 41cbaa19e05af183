"""What an on-prem Kubernetes cluster offers in the blueprint's neutral words.

There are no machine types to buy: a pool's "instance" is the accelerator itself, selected by the
node labels the target names (`target.gpu_node_labels`), and a serving size is a resource request.
The cluster has what it has, so every NVIDIA accelerator and count is accepted; TPUs are refused.
Kubernetes versions: those whose OpenAPI schema the manifests are validated against (reviewed 2026-11;
upstream supports the newest three minors, vendors such as RKE2 and OpenShift support older ones longer).
"""

from __future__ import annotations

from mlops_blueprint.blueprints.registry import Catalog, KubernetesRelease

# Upstream end of life per minor (https://kubernetes.io/releases/, reviewed 2026-11-24; 1.35 to 1.37
# are the project's planned dates, estimates). Past it only your distribution's vendor patches the
# version; how long is the vendor's call, so there is no end here ("" = never an error by date).
KUBERNETES = {
    "1.31": KubernetesRelease("2025-10-28", ""),
    "1.32": KubernetesRelease("2026-02-28", ""),
    "1.33": KubernetesRelease("2026-06-28", ""),
    "1.34": KubernetesRelease("2026-10-27", ""),
    "1.35": KubernetesRelease("2027-02-28", "", estimate=True),
    "1.36": KubernetesRelease("2027-06-28", "", estimate=True),
    "1.37": KubernetesRelease("2027-10-28", "", estimate=True),
}

_NVIDIA = ("nvidia-t4", "nvidia-a10g", "nvidia-l4", "nvidia-a100", "nvidia-h100")

# size -> the container's requests (= limits): "cpu,memory[,gpus]"
SIZES: dict[str, tuple[str, str, int]] = {
    "cpu-small": ("1", "2Gi", 0),
    "cpu-medium": ("2", "8Gi", 0),
    "cpu-large": ("8", "32Gi", 0),
    "gpu-small": ("4", "16Gi", 1),
    "gpu-medium": ("8", "32Gi", 1),
}

CATALOG = Catalog(
    reviewed="2026-11",
    regions=("onprem",),
    training={acc: {n: acc for n in (1, 2, 4, 8)} for acc in _NVIDIA},
    nearest={"google-tpu-v5e": "nvidia-a100"},
    serving={size: ",".join(str(v) for v in spec) for size, spec in SIZES.items()},
    state_backend="kubernetes",
    sharing_modes=("none", "time-slicing", "mig"),
    kubernetes_versions=tuple(KUBERNETES),
    kubernetes_support=KUBERNETES,
    kubernetes_source="https://kubernetes.io/releases/",
    kubernetes_reviewed="2026-11-24",
    extended_support_cost=(
        "upstream Kubernetes no longer patches it: only a distribution with longer support (RKE2, OpenShift, "
        "Charmed Kubernetes, ...) does, under that vendor's support contract"
    ),
)
