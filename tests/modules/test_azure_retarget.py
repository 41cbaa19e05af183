"""Every AWS and GCP reference blueprint, retargeted to Azure, synthesizes a complete Azure platform.

Retargeting is its target line. Azure has no L4, A10G or TPU, and the validator refuses them, naming
the nearest choice; the test takes that suggestion (and, for gcp-vision, swaps its per-environment
project override for a subscription), so what it proves is: the target line plus the validator's
own suggestions give a complete platform.
"""

import json
import re

import pytest

from mlops_blueprint.blueprints import BlueprintError, loads
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import REFERENCE

SUB = "00000000-0000-0000-0000-000000000000"
LINE = "target: {cloud: azure, region: REGION, subscription_id: " + SUB + "}"
COMPONENT_TYPES = {
    "azurerm_resource_group",
    "azurerm_virtual_network",
    "azurerm_key_vault",
    "azurerm_key_vault_key",
    "azurerm_user_assigned_identity",
    "azurerm_storage_account",
    "azurerm_storage_data_lake_gen2_filesystem",
    "azurerm_purview_account",
    "azurerm_kubernetes_cluster",
    "azurerm_kubernetes_cluster_node_pool",
    "azurerm_machine_learning_workspace",
    "azurerm_container_registry",
    "azapi_resource",
    "azurerm_monitor_action_group",
    "azurerm_monitor_metric_alert",
    "azurerm_role_assignment",
    "azurerm_private_endpoint",
    "azurerm_monitor_diagnostic_setting",
    "azurerm_application_insights_workbook",
}
# The tactical tier (no catalog, no serving) is no complete platform; tests/scripts/test_catalog.py retargets it.
OTHERS = [
    p
    for p in REFERENCE
    if re.search(r"^target: \{cloud: (aws|gcp),", p.read_text(), flags=re.M) and "tier: tactical" not in p.read_text()
]


def retarget(text: str, region: str) -> str:
    out, n = re.subn(r"^target: \{cloud: (aws|gcp), .*\}$", LINE.replace("REGION", region), text, flags=re.M)
    assert n == 1, "a reference blueprint keeps its target on one line"
    return out


@pytest.mark.parametrize("path", OTHERS, ids=lambda p: p.stem)
def test_the_target_line_alone_names_what_azure_lacks(path):
    region = "eastus" if "allowed_regions: [us-" in path.read_text() else "westeurope"
    with pytest.raises(BlueprintError) as exc:
        loads(retarget(path.read_text(), region), name=path.name)
    messages = [p.message for p in exc.value.problems]
    assert messages and all(
        "not available on azure (the nearest is" in m or "belongs to gcp, not azure" in m for m in messages
    ), messages


@pytest.mark.parametrize("path", OTHERS, ids=lambda p: p.stem)
def test_every_reference_retargets_to_a_complete_azure_platform(path, tmp_path):
    text = path.read_text()
    region = "eastus" if "allowed_regions: [us-" in text else "westeurope"
    text = retarget(text, region)
    text = (
        text.replace("nvidia-l4", "nvidia-t4")
        .replace("nvidia-a10g", "nvidia-t4")
        .replace("google-tpu-v5e", "nvidia-a100")
    )
    text = text.replace("target.project_id: acme-vision-prod", f"target.subscription_id: {SUB[:-1]}1")
    lb = loads(text, name=path.name)
    results = synth(lb, lb.select(None), tmp_path / "out", DeploySettings())
    assert [r.env for r in results] == list(lb.envs)
    for r in results:
        doc = json.loads(r.json_path.read_text())
        assert COMPONENT_TYPES <= set(doc["resource"]), COMPONENT_TYPES - set(doc["resource"])
        bp = lb.envs[r.env].blueprint
        pools = doc["resource"]["azurerm_kubernetes_cluster_node_pool"].values()
        assert len([p for p in pools if "nvidia.com/gpu=present:NoSchedule" in (p.get("node_taints") or [])]) == len(
            bp.components.training.pools
        )
        endpoints = [a for a in doc["resource"]["azapi_resource"].values() if "/onlineEndpoints@" in a["type"]]
        assert len(endpoints) == len(bp.components.serving.endpoints)
        assert set(doc["provider"]) == {"azurerm", "azapi"} and "azurerm" in doc["terraform"]["backend"]
