"""What Google Cloud offers in the blueprint's neutral words (a static catalog, reviewed 2026-11;
`gcloud compute accelerator-types list` is the live truth)."""

from __future__ import annotations

from mlops_blueprint.blueprints.registry import Catalog, KubernetesRelease

# GKE release schedule, reviewed 2026-11-24 from https://cloud.google.com/kubernetes-engine/docs/release-schedule
# (Google calls every date there a best-effort estimate; the end-of-standard-support dates are the
# schedule's, as mirrored by endoflife.date/google-kubernetes-engine). GKE gives a minor version up to
# 24 months from its Regular-channel availability, the last ~10 in extended support on the Extended
# channel only: the extended ends below are that policy applied to the Regular availability dates
# (estimates). 1.36's Regular availability (mid-2026) is itself an estimate.
KUBERNETES = {
    "1.31": KubernetesRelease("2026-01-16", "2026-10-25", estimate=True),
    "1.32": KubernetesRelease("2026-04-11", "2027-02-11", estimate=True),
    "1.33": KubernetesRelease("2026-08-03", "2027-06-03", estimate=True),
    "1.34": KubernetesRelease("2026-10-01", "2027-09-30", estimate=True),
    "1.35": KubernetesRelease("2027-04-11", "2028-02-11", estimate=True),
    "1.36": KubernetesRelease("2027-08-15", "2028-06-15", estimate=True),
}

# Where each TPU generation can be had, by region and zone: TPU node pools are zonal capacity, so a
# pool's nodes go to these zones only (`node_locations`), and a region missing here is a validation
# error naming those that have it (accelerator_regions below is derived from this table). From
# https://cloud.google.com/tpu/docs/regions-zones, reviewed 2026-11-24 (v5e, "All v5e configurations":
# North America us-central1-a, us-south1-a, us-west1-c, us-west4-a; Europe europe-west4-b), restricted to
# the regions this catalog supports. us-east1 is not listed for v5e, so it is not here.
TPU_ZONES_SOURCE = "https://cloud.google.com/tpu/docs/regions-zones (reviewed 2026-11-24)"
TPU_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    "google-tpu-v5e": {
        "us-central1": ("us-central1-a",),
        "us-west1": ("us-west1-c",),
        "europe-west4": ("europe-west4-b",),
    },
}


def tpu_zones(accelerator: str, region: str) -> tuple[str, ...] | None:
    """The zones of `region` that offer TPU `accelerator` (empty: none); None when it is not a TPU."""
    table = TPU_ZONES.get(accelerator)
    return None if table is None else table.get(region, ())


_COMMON = (
    "us-central1",
    "us-east1",
    "us-east4",
    "us-west1",
    "europe-west1",
    "europe-west3",
    "europe-west4",
    "asia-northeast1",
    "asia-southeast1",
)

CATALOG = Catalog(
    reviewed="2026-11",
    regions=_COMMON,
    # GCP has no A10G: the nearest (24 GB, inference-class) is the L4.
    training={
        "nvidia-t4": {1: "n1-standard-8", 2: "n1-standard-16", 4: "n1-standard-32"},
        "nvidia-l4": {1: "g2-standard-8", 2: "g2-standard-24", 4: "g2-standard-48", 8: "g2-standard-96"},
        "nvidia-a100": {1: "a2-highgpu-1g", 2: "a2-highgpu-2g", 4: "a2-highgpu-4g", 8: "a2-highgpu-8g"},
        "nvidia-h100": {8: "a3-highgpu-8g"},
        "google-tpu-v5e": {1: "ct5lp-hightpu-1t", 4: "ct5lp-hightpu-4t", 8: "ct5lp-hightpu-8t"},
    },
    nearest={"nvidia-a10g": "nvidia-l4"},
    # Where each accelerator can be had: a region missing here is a validation error naming those that have it.
    accelerator_regions={
        "nvidia-t4": _COMMON,
        "nvidia-l4": _COMMON,
        "nvidia-a100": (
            "us-central1",
            "us-east1",
            "us-east4",
            "us-west1",
            "europe-west4",
            "asia-northeast1",
            "asia-southeast1",
        ),
        "nvidia-h100": ("us-central1", "us-east4", "us-west1", "europe-west4", "asia-southeast1"),
        **{tpu: tuple(zones) for tpu, zones in TPU_ZONES.items()},
    },
    # The GKE accelerator type of each neutral kind (TPU machine types carry their chips: no type).
    accelerator_types={
        "nvidia-t4": "nvidia-tesla-t4",
        "nvidia-l4": "nvidia-l4",
        "nvidia-a100": "nvidia-tesla-a100",
        "nvidia-h100": "nvidia-h100-80gb",
        "google-tpu-v5e": None,
    },
    # Vertex AI machine types; the GPU sizes carry one L4.
    serving={
        "cpu-small": "n2-standard-2",
        "cpu-medium": "n2-standard-4",
        "cpu-large": "n2-standard-16",
        "gpu-small": "g2-standard-4",
        "gpu-medium": "g2-standard-8",
    },
    serving_accelerators={"gpu-small": ("NVIDIA_L4", 1), "gpu-medium": ("NVIDIA_L4", 1)},
    state_backend="gcs",
    kubernetes_versions=tuple(KUBERNETES),
    kubernetes_support=KUBERNETES,
    kubernetes_source="https://cloud.google.com/kubernetes-engine/docs/release-schedule",
    kubernetes_reviewed="2026-11-24",
    extended_support_cost=(
        "the cluster then runs on GKE's Extended release channel, which adds an extended-support cluster "
        "management fee (about $0.50 per cluster-hour on top of $0.10, while the version is past standard "
        "support; see https://cloud.google.com/kubernetes-engine/pricing); on the Regular channel "
        "(kubernetes_support: standard) GKE upgrades the control plane instead"
    ),
    sharing_modes=("none", "time-slicing", "mig"),
)

# APIs the project must have on before the first apply (binding-free, for `verify`): the stack enables
# every other API it calls (modules/gcp_common.API_OF_TYPE), but enabling an API is itself a Service
# Usage call, and project IAM goes through Resource Manager.
PREREQUISITE_APIS = ("serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com")
