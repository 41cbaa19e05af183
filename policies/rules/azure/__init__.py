"""Azure resource rules: one file each, MLOPS_AZ_NNN.

Shared readers for the rules below (azapi resources, GPU pools, role scopes). azapi resources appear in
the synthesized JSON as `azapi_resource` with the ARM `type` (`<provider>/<path>@<api version>`) and the
request `body`; `azapi_of` selects them by ARM type without the api version.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlops_blueprint.policies.tfjson import Doc, as_list

AZAPI = "azapi_resource"
ML = "Microsoft.MachineLearningServices/workspaces"
ONLINE_ENDPOINT = f"{ML}/onlineEndpoints"
ONLINE_DEPLOYMENT = f"{ML}/onlineEndpoints/deployments"
GPU_TAINT_KEY = "nvidia.com/gpu"
ACCELERATOR_LABEL, POOL_LABEL = "mlops.io/accelerator", "mlops.io/pool"
# `${type.name...}` and `${data.type.name...}` references
ANY_REF = re.compile(r"\$\{((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)")


def azapi_of(d: Doc, arm_type: str) -> Iterator[tuple[str, dict]]:
    """The azapi resources of ARM type `arm_type` (any api version)."""
    for addr, b in d.of(AZAPI):
        if str(b.get("type", "")).split("@")[0] == arm_type:
            yield addr, b


def properties(body: dict) -> dict:
    """An azapi resource's `body.properties` (empty when missing)."""
    b = body.get("body")
    props = b.get("properties") if isinstance(b, dict) else None
    return props if isinstance(props, dict) else {}


def is_gpu_pool(body: dict) -> bool:
    """A node pool is a GPU pool when it runs an N-series VM size or carries the accelerator label."""
    size = str(body.get("vm_size", ""))
    return size.startswith("Standard_N") or ACCELERATOR_LABEL in (body.get("node_labels") or {})


def gpu_pools(d: Doc) -> Iterator[tuple[str, dict]]:
    for addr, b in d.of("azurerm_kubernetes_cluster_node_pool"):
        if is_gpu_pool(b):
            yield addr, b


def references(value: object) -> set[str]:
    """Every `type.name` or `data.type.name` a value references through ${...} interpolation."""
    if isinstance(value, str):
        return set(ANY_REF.findall(value))
    if isinstance(value, dict):
        return {r for v in value.values() for r in references(v)}
    if isinstance(value, list):
        return {r for v in value for r in references(v)}
    return set()


def email_action_groups(d: Doc) -> set[str]:
    """Addresses of enabled action groups with at least one e-mail receiver."""
    return {
        a
        for a, b in d.of("azurerm_monitor_action_group")
        if b.get("enabled") is not False and any(r.get("email_address") for r in as_list(b.get("email_receiver")))
    }
