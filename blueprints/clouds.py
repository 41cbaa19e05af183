"""What each target cloud offers, in the blueprint's cloud-neutral words.

This is pure data: the tables that map a neutral accelerator kind, GPU count and
serving size to each cloud's machine type, and the regions a cloud module
supports. The blueprint validator reads it (so an unmappable choice is a
validation error before anything is synthesized), and the cloud modules read it
to pick their instance types. It imports nothing heavy: `validate` must stay
fast.
"""

from __future__ import annotations

from typing import Literal

Cloud = Literal["aws", "gcp", "azure", "onprem"]
CLOUDS: tuple[str, ...] = ("aws", "gcp", "azure", "onprem")

# Clouds whose modules exist. The others validate but fail at synth.
IMPLEMENTED_CLOUDS: tuple[str, ...] = ("aws", "gcp")

Accelerator = Literal[
    "nvidia-t4", "nvidia-a10g", "nvidia-l4", "nvidia-a100", "nvidia-h100", "google-tpu-v5e"
]
Size = Literal["cpu-small", "cpu-medium", "cpu-large", "gpu-small", "gpu-medium"]

# accelerator -> {accelerators per node -> instance (machine) type}
TRAINING_INSTANCES: dict[str, dict[str, dict[int, str]]] = {
    "aws": {
        "nvidia-t4": {1: "g4dn.xlarge", 4: "g4dn.12xlarge", 8: "g4dn.metal"},
        "nvidia-a10g": {1: "g5.xlarge", 4: "g5.12xlarge", 8: "g5.48xlarge"},
        "nvidia-l4": {1: "g6.xlarge", 4: "g6.12xlarge", 8: "g6.48xlarge"},
        "nvidia-a100": {8: "p4d.24xlarge"},
        "nvidia-h100": {8: "p5.48xlarge"},
    },
    # GCP has no A10G: the nearest (24 GB, inference-class) is the L4, which `nearest` suggests.
    "gcp": {
        "nvidia-t4": {1: "n1-standard-8", 2: "n1-standard-16", 4: "n1-standard-32"},
        "nvidia-l4": {1: "g2-standard-8", 2: "g2-standard-24", 4: "g2-standard-48", 8: "g2-standard-96"},
        "nvidia-a100": {1: "a2-highgpu-1g", 2: "a2-highgpu-2g", 4: "a2-highgpu-4g", 8: "a2-highgpu-8g"},
        "nvidia-h100": {8: "a3-highgpu-8g"},
        "google-tpu-v5e": {1: "ct5lp-hightpu-1t", 4: "ct5lp-hightpu-4t", 8: "ct5lp-hightpu-8t"},
    },
}

# The GKE accelerator type of each neutral kind (TPU machine types carry their chips: no type).
GCP_ACCELERATOR_TYPES: dict[str, str | None] = {
    "nvidia-t4": "nvidia-tesla-t4", "nvidia-l4": "nvidia-l4", "nvidia-a100": "nvidia-tesla-a100",
    "nvidia-h100": "nvidia-h100-80gb", "google-tpu-v5e": None,
}

# Where each accelerator can be had (a static catalog, reviewed 2026-11; `gcloud compute
# accelerator-types list` is the live truth). A region missing here for an accelerator is a
# validation error that names the regions that have it.
ACCELERATOR_REGIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "gcp": {
        "nvidia-t4": ("us-central1", "us-east1", "us-east4", "us-west1", "europe-west1", "europe-west3",
                      "europe-west4", "asia-northeast1", "asia-southeast1"),
        "nvidia-l4": ("us-central1", "us-east1", "us-east4", "us-west1", "europe-west1", "europe-west3",
                      "europe-west4", "asia-northeast1", "asia-southeast1"),
        "nvidia-a100": ("us-central1", "us-east1", "us-east4", "us-west1", "europe-west4", "asia-northeast1",
                        "asia-southeast1"),
        "nvidia-h100": ("us-central1", "us-east4", "us-west1", "europe-west4", "asia-southeast1"),
        "google-tpu-v5e": ("us-central1", "us-east1", "us-west1", "europe-west4"),
    },
}

# When a kind is missing on a cloud, the kind to suggest instead.
NEAREST: dict[str, dict[str, str]] = {
    "gcp": {"nvidia-a10g": "nvidia-l4"},
    "aws": {"google-tpu-v5e": "nvidia-l4"},
}

SERVING_INSTANCES: dict[str, dict[str, str]] = {
    "aws": {
        "cpu-small": "ml.m5.large",
        "cpu-medium": "ml.m5.xlarge",
        "cpu-large": "ml.m5.4xlarge",
        "gpu-small": "ml.g5.xlarge",
        "gpu-medium": "ml.g5.2xlarge",
    },
    # Vertex AI machine types; the GPU sizes carry one L4 (SERVING_ACCELERATORS).
    "gcp": {
        "cpu-small": "n2-standard-2",
        "cpu-medium": "n2-standard-4",
        "cpu-large": "n2-standard-16",
        "gpu-small": "g2-standard-4",
        "gpu-medium": "g2-standard-8",
    },
}

# size -> (accelerator type, count) where a serving size needs one.
SERVING_ACCELERATORS: dict[str, dict[str, tuple[str, int]]] = {
    "gcp": {"gpu-small": ("NVIDIA_L4", 1), "gpu-medium": ("NVIDIA_L4", 1)},
}

# Native Terraform state backend of each cloud (the default of `state.backend`).
STATE_BACKENDS: dict[str, str] = {"aws": "s3", "gcp": "gcs", "azure": "azurerm", "onprem": "kubernetes"}

REGIONS: dict[str, tuple[str, ...]] = {
    "aws": (
        "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
        "eu-north-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
    ),
    "gcp": (
        "us-central1", "us-east1", "us-east4", "us-west1", "europe-west1", "europe-west3",
        "europe-west4", "asia-northeast1", "asia-southeast1",
    ),
    "azure": ("eastus", "eastus2", "westus2", "westeurope", "northeurope", "germanywestcentral"),
    "onprem": ("onprem",),
}


def training_instance(cloud: str, accelerator: str, gpus: int) -> str | None:
    return TRAINING_INSTANCES.get(cloud, {}).get(accelerator, {}).get(gpus)


def serving_instance(cloud: str, size: str) -> str | None:
    return SERVING_INSTANCES.get(cloud, {}).get(size)


def accelerator_regions(cloud: str, accelerator: str) -> tuple[str, ...] | None:
    """Regions offering `accelerator` on `cloud`; None when the cloud keeps no such catalog (all regions)."""
    table = ACCELERATOR_REGIONS.get(cloud)
    return None if table is None else table.get(accelerator, ())


def region_of(name: str) -> str | None:
    """The cloud a region name belongs to (region names do not overlap between clouds)."""
    return next((c for c, regions in REGIONS.items() if name in regions), None)
