"""What Azure offers in the blueprint's neutral words.

A static catalog, reviewed 2026-11 from the Azure VM size documentation (NCasT4_v3, NC A100 v4,
ND A100 v4, NC H100 v5, ND H100 v5) and the Azure ML managed online endpoint SKU list. The regions
per accelerator are a best-effort reading of "products available by region"; the live truth is
`az vm list-skus --location <region> --size Standard_N` (and GPU quota, which starts at 0 per family).

Azure has no L4, no A10G (its A10 series, NVadsA10 v5, is a fractional visualization GPU) and no TPU:
those are validation errors that name the nearest choice.
"""

from __future__ import annotations

from mlops_blueprint.blueprints.registry import Catalog, KubernetesRelease

# AKS release calendar, reviewed 2026-11-24 from
# https://learn.microsoft.com/azure/aks/supported-kubernetes-versions (the copy of 2026-08: "End of
# life" = end of community support, "LTS End of life" = end of long-term support; a month without a
# day means its last day, as the page says). Dates with only a month are therefore approximate; 1.36
# and 1.37 are the page's forecasts.
KUBERNETES = {
    "1.30": KubernetesRelease("2025-08-22", "2026-07-31"),
    "1.31": KubernetesRelease("2025-11-01", "2026-11-30"),
    "1.32": KubernetesRelease("2026-03-31", "2027-03-31"),
    "1.33": KubernetesRelease("2026-07-31", "2027-07-31"),
    "1.34": KubernetesRelease("2026-11-30", "2027-11-30"),
    "1.35": KubernetesRelease("2027-03-31", "2028-03-31"),
    "1.36": KubernetesRelease("2027-06-30", "2028-06-30", estimate=True),
    "1.37": KubernetesRelease("2027-10-31", "2028-10-31", estimate=True),
}

_REGIONS = (
    "eastus",
    "eastus2",
    "westus2",
    "westus3",
    "southcentralus",
    "westeurope",
    "northeurope",
    "swedencentral",
    "germanywestcentral",
    "uksouth",
    "francecentral",
    "japaneast",
    "australiaeast",
)

CATALOG = Catalog(
    reviewed="2026-11",
    regions=_REGIONS,
    training={
        "nvidia-t4": {1: "Standard_NC4as_T4_v3", 4: "Standard_NC64as_T4_v3"},
        "nvidia-a100": {
            1: "Standard_NC24ads_A100_v4",
            2: "Standard_NC48ads_A100_v4",
            4: "Standard_NC96ads_A100_v4",
            8: "Standard_ND96amsr_A100_v4",
        },
        "nvidia-h100": {1: "Standard_NC40ads_H100_v5", 2: "Standard_NC80adis_H100_v5", 8: "Standard_ND96isr_H100_v5"},
    },
    nearest={"nvidia-l4": "nvidia-t4", "nvidia-a10g": "nvidia-t4", "google-tpu-v5e": "nvidia-a100"},
    accelerator_regions={
        "nvidia-t4": _REGIONS,
        "nvidia-a100": (
            "eastus",
            "eastus2",
            "westus2",
            "westus3",
            "southcentralus",
            "westeurope",
            "swedencentral",
            "uksouth",
            "japaneast",
            "australiaeast",
        ),
        "nvidia-h100": (
            "eastus",
            "eastus2",
            "westus3",
            "southcentralus",
            "swedencentral",
            "uksouth",
            "japaneast",
            "australiaeast",
        ),
    },
    # Azure ML managed online endpoint instance types.
    serving={
        "cpu-small": "Standard_F2s_v2",
        "cpu-medium": "Standard_DS3_v2",
        "cpu-large": "Standard_F8s_v2",
        "gpu-small": "Standard_NC4as_T4_v3",
        "gpu-medium": "Standard_NC24ads_A100_v4",
    },
    # The AKS node pool's GPU: (type, count per node) is in the VM size; the label names the neutral kind.
    accelerator_types={"nvidia-t4": "nvidia-t4", "nvidia-a100": "nvidia-a100", "nvidia-h100": "nvidia-h100"},
    state_backend="azurerm",
    kubernetes_versions=tuple(KUBERNETES),
    kubernetes_support=KUBERNETES,
    kubernetes_source="https://learn.microsoft.com/azure/aks/supported-kubernetes-versions",
    kubernetes_reviewed="2026-11-24",
    extended_support_cost=(
        "AKS keeps such a version only under long-term support: the cluster then runs on the Premium tier "
        "($0.60 per cluster-hour instead of Standard's $0.10, for as long as it is opted in; "
        "https://azure.microsoft.com/pricing/details/kubernetes-service/) with the AKSLongTermSupport plan"
    ),
    sharing_modes=("none", "mig"),
    sharing_note="AKS partitions A100 and H100 node pools with MIG but has no native time-slicing",
)
