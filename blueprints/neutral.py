"""The blueprint's cloud-neutral words: accelerator kinds and serving sizes. Each cloud's catalog
(`stacks/<cloud>/catalog.py`) maps them to its machine types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mlops_blueprint.blueprints.model import Pool

Accelerator = Literal["nvidia-t4", "nvidia-a10g", "nvidia-l4", "nvidia-a100", "nvidia-h100", "google-tpu-v5e"]
Size = Literal["cpu-small", "cpu-medium", "cpu-large", "gpu-small", "gpu-medium"]
SharingMode = Literal["none", "time-slicing", "mig"]

# Multi-Instance GPU profiles each accelerator can be partitioned into, and how many instances of the
# profile one GPU holds (NVIDIA MIG user guide, "Supported MIG Profiles"). GPUs not named here have no MIG.
# The neutral nvidia-a100 is the 40 GB part on some machines and the 80 GB part on others, so both parts'
# profiles are listed; `1g.10gb` exists on both, 4 per GPU on the 40 GB part and 7 on the 80 GB one: the
# quota counts 4, which holds on either (a larger count would admit jobs that then wait for a slice).
# This is the only MIG table: the validator, the Kueue quotas, the GPU operator's partitioning and verify
# read it.
MIG_PROFILES: dict[str, dict[str, int]] = {
    "nvidia-a100": {
        "1g.5gb": 7,
        "2g.10gb": 3,
        "3g.20gb": 2,
        "4g.20gb": 1,
        "7g.40gb": 1,
        "1g.10gb": 4,
        "2g.20gb": 3,
        "3g.40gb": 2,
        "4g.40gb": 1,
        "7g.80gb": 1,
    },
    "nvidia-h100": {"1g.10gb": 7, "1g.20gb": 4, "2g.20gb": 3, "3g.40gb": 2, "4g.40gb": 1, "7g.80gb": 1},
}

GPU_RESOURCE = "nvidia.com/gpu"
# The extended resource each neutral accelerator's device plugin advertises, which is also the key of the
# NoSchedule taint its nodes carry (the platform taints GPU nodes `nvidia.com/gpu`; GKE taints TPU nodes
# `google.com/tpu`, and TPU pods request `google.com/tpu`). Accelerators not listed are NVIDIA GPUs.
DEVICE_RESOURCES: dict[str, str] = {"google-tpu-v5e": "google.com/tpu"}


def device_resource(accelerator: str) -> str:
    """The extended resource (and taint key) of a neutral accelerator's nodes."""
    return DEVICE_RESOURCES.get(accelerator, GPU_RESOURCE)


def mig_instances(accelerator: str, profile: str) -> int:
    """How many `profile` MIG instances one `accelerator` GPU holds (a pair the validator accepted)."""
    return MIG_PROFILES[accelerator][profile]


@dataclass(frozen=True)
class GpuQuota:
    """What a pool offers Kueue: the extended resource its pods request and how many of it."""

    resource: str
    quantity: int


def gpu_quota(pool: Pool) -> GpuQuota:
    """A validated pool's GPU quota. none: max_nodes x gpus_per_node of the accelerator's resource
    (`nvidia.com/gpu`; TPU chips: `google.com/tpu`); time-slicing: x replicas (each GPU is advertised
    `replicas` times); mig: `nvidia.com/mig-<profile>` (mixed strategy) x the profile's instances per GPU.
    min_nodes plays no part: the quota caps what the pool may use, it reserves nothing."""
    gpus = pool.max_nodes * pool.gpus_per_node
    s = pool.sharing
    if s.mode == "time-slicing" and s.replicas:
        return GpuQuota(GPU_RESOURCE, gpus * s.replicas)
    if s.mode == "mig" and s.profile:
        return GpuQuota(f"nvidia.com/mig-{s.profile}", gpus * mig_instances(pool.accelerator, s.profile))
    return GpuQuota(device_resource(pool.accelerator), gpus)
