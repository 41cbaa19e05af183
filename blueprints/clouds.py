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
IMPLEMENTED_CLOUDS: tuple[str, ...] = ("aws",)

Accelerator = Literal[
    "nvidia-t4", "nvidia-a10g", "nvidia-l4", "nvidia-a100", "nvidia-h100", "google-tpu-v5e"
]
Size = Literal["cpu-small", "cpu-medium", "cpu-large", "gpu-small", "gpu-medium"]

# accelerator -> {gpus per node -> instance type}
TRAINING_INSTANCES: dict[str, dict[str, dict[int, str]]] = {
    "aws": {
        "nvidia-t4": {1: "g4dn.xlarge", 4: "g4dn.12xlarge", 8: "g4dn.metal"},
        "nvidia-a10g": {1: "g5.xlarge", 4: "g5.12xlarge", 8: "g5.48xlarge"},
        "nvidia-l4": {1: "g6.xlarge", 4: "g6.12xlarge", 8: "g6.48xlarge"},
        "nvidia-a100": {8: "p4d.24xlarge"},
        "nvidia-h100": {8: "p5.48xlarge"},
    },
}

SERVING_INSTANCES: dict[str, dict[str, str]] = {
    "aws": {
        "cpu-small": "ml.m5.large",
        "cpu-medium": "ml.m5.xlarge",
        "cpu-large": "ml.m5.4xlarge",
        "gpu-small": "ml.g5.xlarge",
        "gpu-medium": "ml.g5.2xlarge",
    },
}

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
