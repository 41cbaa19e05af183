"""The blueprint's cloud-neutral words: accelerator kinds and serving sizes. Each cloud's catalog
(`stacks/<cloud>/catalog.py`) maps them to its machine types."""

from __future__ import annotations

from typing import Literal

Accelerator = Literal["nvidia-t4", "nvidia-a10g", "nvidia-l4", "nvidia-a100", "nvidia-h100", "google-tpu-v5e"]
Size = Literal["cpu-small", "cpu-medium", "cpu-large", "gpu-small", "gpu-medium"]
SharingMode = Literal["none", "time-slicing", "mig"]

# Multi-Instance GPU profiles each accelerator can be partitioned into (NVIDIA MIG user guide; the
# 40 GB and 80 GB A100 have different memory slices, so both are listed). GPUs not named here have no MIG.
MIG_PROFILES: dict[str, tuple[str, ...]] = {
    "nvidia-a100": (
        "1g.5gb",
        "2g.10gb",
        "3g.20gb",
        "4g.20gb",
        "7g.40gb",
        "1g.10gb",
        "2g.20gb",
        "3g.40gb",
        "4g.40gb",
        "7g.80gb",
    ),
    "nvidia-h100": ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
}
