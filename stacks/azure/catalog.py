"""What Azure offers in the blueprint's neutral words.

A static catalog, reviewed 2026-11 from the Azure VM size documentation (NCasT4_v3, NC A100 v4,
ND A100 v4, NC H100 v5, ND H100 v5) and the Azure ML managed online endpoint SKU list. The regions
per accelerator are a best-effort reading of "products available by region"; the live truth is
`az vm list-skus --location <region> --size Standard_N` (and GPU quota, which starts at 0 per family).

Azure has no L4, no A10G (its A10 series, NVadsA10 v5, is a fractional visualization GPU) and no TPU:
those are validation errors that name the nearest choice.
"""

from __future__ import annotations

from mlops_blueprint.blueprints.registry import Catalog

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
    sharing_modes=("none", "mig"),
    sharing_note="AKS partitions A100 and H100 node pools with MIG but has no native time-slicing",
)
