"""The blueprint's cloud-neutral words: accelerator kinds and serving sizes. Each cloud's catalog
(`stacks/<cloud>/catalog.py`) maps them to its machine types."""

from __future__ import annotations

from typing import Literal

Accelerator = Literal[
    "nvidia-t4", "nvidia-a10g", "nvidia-l4", "nvidia-a100", "nvidia-h100", "google-tpu-v5e"
]
Size = Literal["cpu-small", "cpu-medium", "cpu-large", "gpu-small", "gpu-medium"]
