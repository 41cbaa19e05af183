"""Golden inventories: every reference blueprint x environment -> a reviewed subset of its stack.

The subset is: resource counts per type, plus the names of the things people look for (buckets,
roles, node groups, endpoints, alarms) and the construct ids of stateful resources (renaming a
construct id replaces real resources). Regenerate after a reviewed change with:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/golden -q
"""

import json
import os
from collections import Counter

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import REFERENCE

HERE = os.path.dirname(__file__)
NAMED = {
    "aws_s3_bucket": "bucket",
    "aws_iam_role": "name",
    "aws_eks_node_group": "node_group_name",
    "aws_sagemaker_endpoint": "name",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_glue_catalog_database": "name",
    "aws_ecr_repository": "name",
    "google_storage_bucket": "name",
    "google_service_account": "account_id",
    "google_container_node_pool": "name",
    "google_vertex_ai_endpoint": "display_name",
    "google_monitoring_alert_policy": "display_name",
    "google_bigquery_dataset": "dataset_id",
    "google_artifact_registry_repository": "repository_id",
    "google_project_iam_custom_role": "role_id",
    "azurerm_storage_account": "name",
    "azurerm_user_assigned_identity": "name",
    "azurerm_key_vault": "name",
    "azurerm_kubernetes_cluster_node_pool": "name",
    "azurerm_container_registry": "name",
    "azurerm_machine_learning_workspace": "name",
    "azurerm_storage_data_lake_gen2_filesystem": "name",
    "azurerm_monitor_metric_alert": "name",
    "azapi_resource": "name",
    "helm_release": "name",
}
STATEFUL = (
    "aws_s3_bucket",
    "aws_kms_key",
    "aws_ecr_repository",
    "aws_sagemaker_model_package_group",
    "aws_glue_catalog_database",
    "google_storage_bucket",
    "google_kms_key_ring",
    "google_kms_crypto_key",
    "google_artifact_registry_repository",
    "google_bigquery_dataset",
    "google_vertex_ai_metadata_store",
    "azurerm_storage_account",
    "azurerm_storage_data_lake_gen2_filesystem",
    "azurerm_key_vault",
    "azurerm_key_vault_key",
    "azurerm_container_registry",
    "azurerm_machine_learning_workspace",
    "azurerm_purview_account",
    "helm_release",
    "kubernetes_namespace_v1",
)
REGEN = "UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/golden -q"


def inventory(doc: dict) -> dict:
    res = doc.get("resource", {})
    return {
        "counts": dict(sorted(Counter({t: len(v) for t, v in res.items()}).items())),
        "names": {t: sorted(r[attr] for r in res.get(t, {}).values()) for t, attr in NAMED.items() if t in res},
        "stateful_ids": {t: sorted(res.get(t, {})) for t in STATEFUL if t in res},
        "backend": doc["terraform"]["backend"],
    }


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    out = {}
    for path in REFERENCE:
        lb = load(path)
        for r in synth(lb, lb.select(None), tmp_path_factory.mktemp(path.stem), DeploySettings()):
            out[r.stack] = json.loads(r.json_path.read_text())
    return out


def cases():
    return [(p, e) for p in REFERENCE for e in load(p).envs]


@pytest.mark.parametrize("path, env", cases(), ids=lambda v: getattr(v, "stem", v))
def test_inventory_matches_golden(synthesized, path, env):
    stack = f"{load(path).name}-{env}"
    got = inventory(synthesized[stack])
    golden = os.path.join(HERE, "data", f"{stack}.json")
    if os.environ.get("UPDATE_GOLDEN"):
        os.makedirs(os.path.dirname(golden), exist_ok=True)
        with open(golden, "w") as f:
            json.dump(got, f, indent=2, sort_keys=True)
            f.write("\n")
    assert os.path.exists(golden), f"no golden file for {stack}; create it with: {REGEN}"
    with open(golden) as f:
        want = json.load(f)
    assert got == want, f"{stack} differs from its golden inventory; review the change, then run: {REGEN}"
