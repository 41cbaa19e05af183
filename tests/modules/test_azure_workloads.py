"""Synth tests of the Azure workload constructs (training, registry, serving, monitoring) on the real
AzureBaseline, asserted by resources and their properties."""

import json
import re

import pytest
from cdktn import TerraformStack
from cdktn import Testing as CdkTesting
from cdktn_provider_azapi.provider import AzapiProvider
from cdktn_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures

from mlops_blueprint.blueprints import loads
from mlops_blueprint.modules.baseline.azure import AzureBaseline, BaselineProps
from mlops_blueprint.modules.monitoring.azure import AzureMonitoring, MonitoringProps
from mlops_blueprint.modules.registry.azure import AzureRegistry, RegistryProps
from mlops_blueprint.modules.serving.azure import AzureServing, ServingProps
from mlops_blueprint.modules.training.azure import AzureTraining, TrainingProps
from mlops_blueprint.stacks.azure.names import AzureNames

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
BLUEPRINT = f"""\
apiVersion: mlops.blueprint/v1
kind: Blueprint
metadata: {{name: acme, owner: team@example.com, cost_center: cc-1}}
target: {{cloud: azure, region: westeurope, subscription_id: {SUBSCRIPTION}}}
components:
  training:
    pools:
      small: {{accelerator: nvidia-t4, gpus_per_node: 1, max_nodes: 3}}
      big: {{accelerator: nvidia-a100, gpus_per_node: 8, max_nodes: 2, spot: true, disk_gb: 500}}
  registry: {{models: [churn, fraud]}}
  serving:
    endpoints:
      churn-api: {{model: churn, min_replicas: 2, max_replicas: 5, target_invocations_per_replica: 300,
                  capture_percent: 25}}
      fraud-pub: {{model: fraud, size: cpu-small, private: false, capture_requests: false}}
  monitoring:
    notify: [oncall@example.com, ml@example.com]
    alerts: {{latency_p99_ms: 800, error_rate: 0.02, gpu_utilization_pct: 90}}
environments:
  dev: {{protect_stateful: false}}
"""
WS = "Microsoft.MachineLearningServices/workspaces"
FORBIDDEN_ROLES = {"Owner", "Contributor", "User Access Administrator"}


def build(text: str = BLUEPRINT) -> dict:
    env = loads(text).envs["dev"]
    bp = env.blueprint
    c = bp.components
    n = AzureNames(bp.metadata.name, env.name)
    stack = TerraformStack(CdkTesting.app(), "azure-workloads")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()], subscription_id=SUBSCRIPTION)
    AzapiProvider(stack, "azapi", subscription_id=SUBSCRIPTION)
    b = AzureBaseline(
        stack,
        "baseline",
        props=BaselineProps(
            naming=n,
            spec=bp.baseline,
            location=bp.target.region,
            notify=tuple(c.monitoring.notify),
            tags={"env": "dev"},
            protect=False,
        ),
    )
    training = AzureTraining(
        stack, "training", props=TrainingProps(naming=n, spec=c.training, baseline=b, protect=False)
    )
    registry = AzureRegistry(
        stack, "registry", props=RegistryProps(naming=n, spec=c.registry, baseline=b, protect=False)
    )
    serving = AzureServing(
        stack, "serving", props=ServingProps(naming=n, spec=c.serving, baseline=b, registry=registry, protect=False)
    )
    capacity = {k: ep.max_replicas * ep.target_invocations_per_replica for k, ep in c.serving.endpoints.items()}
    AzureMonitoring(
        stack,
        "monitoring",
        props=MonitoringProps(
            naming=n, spec=c.monitoring, baseline=b, serving=serving, training=training, serving_capacity=capacity
        ),
    )
    ml = b.personas["ml_engineers"]
    training.grant_submit(ml, id="ml-training")
    registry.grant_pull(training.kubelet, id="kubelet-registry")
    registry.grant_push(ml, id="ml-registry")
    serving.grant_deploy(ml, id="ml-serving")
    serving.grant_invoke(b.personas["app_consumers"], id="apps-serving")
    return json.loads(CdkTesting.synth(stack))


@pytest.fixture(scope="module")
def doc() -> dict:
    return build()


def plain(ref: str) -> str:
    """A reference without the logical id's hash suffix: ${type.id_ABCD1234.id} -> ${type.id.id}."""
    return re.sub(r"_[0-9A-F]{8}(?=[.}])", "", ref)


def res(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


def named(doc: dict, rtype: str, prefix: str) -> dict:
    found = [r for k, r in res(doc, rtype).items() if k.startswith(prefix)]
    assert len(found) == 1, f"expected one {rtype} {prefix}*, found {len(found)}"
    return found[0]


def azapi(doc: dict, api_type: str) -> dict[str, dict]:
    return {r["name"]: r for r in res(doc, "azapi_resource").values() if r["type"] == api_type}


def assignments(doc: dict, principal: str) -> list[dict]:
    return [r for r in res(doc, "azurerm_role_assignment").values() if principal in r["principal_id"]]


# --- training --------------------------------------------------------------------------------------


def test_cluster_is_private_entra_rbac_workload_identity(doc):
    [aks] = res(doc, "azurerm_kubernetes_cluster").values()
    assert aks["name"] == "aks-acme-dev" and aks["kubernetes_version"] == "1.35" and aks["sku_tier"] == "Standard"
    assert (aks["private_cluster_enabled"], aks["private_cluster_public_fqdn_enabled"]) == (True, False)
    assert aks["local_account_disabled"] is True and aks["role_based_access_control_enabled"] is True
    assert aks["azure_active_directory_role_based_access_control"]["azure_rbac_enabled"] is True
    assert (aks["oidc_issuer_enabled"], aks["workload_identity_enabled"]) == (True, True)
    assert aks["automatic_upgrade_channel"] == "patch"
    net = aks["network_profile"]
    assert (net["network_plugin"], net["network_plugin_mode"], net["network_policy"]) == ("azure", "overlay", "cilium")
    system = aks["default_node_pool"]
    assert (system["vm_size"], system["min_count"], system["max_count"], system["only_critical_addons_enabled"]) == (
        "Standard_D4ds_v5",
        1,
        3,
        True,
    )
    assert "azurerm_subnet.baseline_subnet-workloads" in system["vnet_subnet_id"]
    assert aks["identity"]["type"] == "UserAssigned"
    assert (
        "azurerm_user_assigned_identity.training_kubelet-identity"
        in aks["kubelet_identity"]["user_assigned_identity_id"]
    )
    assert "azurerm_disk_encryption_set.training_disk-encryption" in aks["disk_encryption_set_id"]
    assert "azurerm_log_analytics_workspace.baseline_log-analytics" in aks["oms_agent"]["log_analytics_workspace_id"]
    assert "mlops.io/pool" in aks["monitor_metrics"]["labels_allowed"]
    des = named(doc, "azurerm_disk_encryption_set", "training_disk-encryption")
    assert "azurerm_key_vault_key.baseline_key-ml" in des["key_vault_key_id"] and des["auto_key_rotation_enabled"]


def test_gpu_pools_are_tainted_labelled_autoscaled_from_zero(doc):
    pools = {p["name"]: p for p in res(doc, "azurerm_kubernetes_cluster_node_pool").values()}
    assert set(pools) == {"small", "big"}
    small, big = pools["small"], pools["big"]
    assert (small["vm_size"], big["vm_size"]) == ("Standard_NC4as_T4_v3", "Standard_ND96amsr_A100_v4")
    for name, p in pools.items():
        assert p["node_taints"] == ["nvidia.com/gpu=present:NoSchedule"]
        assert p["auto_scaling_enabled"] is True and p["min_count"] == 0 and p["mode"] == "User"
        assert p["node_labels"]["mlops.io/pool"] == name
    assert small["node_labels"]["mlops.io/accelerator"] == "nvidia-t4" and small["max_count"] == 3
    assert big["node_labels"]["mlops.io/accelerator"] == "nvidia-a100" and big["max_count"] == 2
    assert (big["priority"], big["eviction_policy"], big["spot_max_price"], big["os_disk_size_gb"]) == (
        "Spot",
        "Delete",
        -1,
        500,
    )
    assert small["priority"] == "Regular" and "eviction_policy" not in small


def test_trainer_federates_the_training_service_account(doc):
    [fed] = res(doc, "azurerm_federated_identity_credential").values()
    assert fed["subject"] == "system:serviceaccount:training:trainer"
    assert fed["audience"] == ["api://AzureADTokenExchange"]
    assert "azurerm_kubernetes_cluster.training_cluster" in fed["issuer"] and "oidc_issuer_url" in fed["issuer"]
    assert "training_trainer-identity" in fed["user_assigned_identity_id"]


def test_grant_submit_scopes_cluster_and_namespace(doc):
    grants = {
        r["role_definition_name"]: plain(r["scope"])
        for r in assignments(doc, "persona-ml_engineers")
        if "Kubernetes" in r["role_definition_name"]
    }
    assert grants == {
        "Azure Kubernetes Service Cluster User Role": "${azurerm_kubernetes_cluster.training_cluster.id}",
        "Azure Kubernetes Service RBAC Writer": "${azurerm_kubernetes_cluster.training_cluster.id}/namespaces/training",
    }


def test_pool_without_azure_size_is_refused():
    """The validator refuses nvidia-t4 x2 first; the construct must refuse it too (model_copy skips validation)."""
    env = loads(BLUEPRINT).envs["dev"]
    bp, n = env.blueprint, AzureNames("acme", "dev")
    spec = bp.components.training
    bad = spec.model_copy(
        update={"pools": {**spec.pools, "small": spec.pools["small"].model_copy(update={"gpus_per_node": 2})}}
    )
    stack = TerraformStack(CdkTesting.app(), "bad")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()], subscription_id=SUBSCRIPTION)
    b = AzureBaseline(
        stack,
        "baseline",
        props=BaselineProps(
            naming=n, spec=bp.baseline, location="westeurope", notify=("a@example.com",), tags={}, protect=False
        ),
    )
    with pytest.raises(
        ValueError,
        match=r"training pool 'small': nvidia-t4 x2 has no Azure VM size \(nvidia-t4 comes "
        r"with 1, 4 GPUs per node on Azure\)",
    ):
        AzureTraining(stack, "training", props=TrainingProps(naming=n, spec=bad, baseline=b, protect=False))


# --- registry --------------------------------------------------------------------------------------


def test_workspace_is_cmk_private_hbi(doc):
    [ws] = res(doc, "azurerm_machine_learning_workspace").values()
    assert ws["name"] == "mlw-acme-dev"
    assert "azurerm_key_vault_key.baseline_key-ml" in ws["encryption"]["key_id"]
    assert "baseline_encryption-identity" in ws["encryption"]["user_assigned_identity_id"]
    assert (ws["public_network_access_enabled"], ws["high_business_impact"]) == (False, True)
    assert ws["managed_network"]["isolation_mode"] == "AllowOnlyApprovedOutbound"
    assert ws["storage_account_access_type"] == "Identity"
    assert "azurerm_storage_account.registry_artifacts" in ws["storage_account_id"]
    assert "azurerm_container_registry.registry_acr" in ws["container_registry_id"]
    assert "azurerm_key_vault.baseline_key-vault" in ws["key_vault_id"]
    appi = named(doc, "azurerm_application_insights", "registry_app-insights")
    assert appi["local_authentication_enabled"] is False and "log-analytics" in appi["workspace_id"]


def test_acr_is_premium_private_cmk_without_admin_or_anonymous_pull(doc):
    [acr] = res(doc, "azurerm_container_registry").values()
    assert (
        acr["sku"],
        acr["admin_enabled"],
        acr["anonymous_pull_enabled"],
        acr["public_network_access_enabled"],
        acr["export_policy_enabled"],
        acr["quarantine_policy_enabled"],
    ) == ("Premium", False, False, False, False, True)
    assert "azurerm_key_vault_key.baseline_key-ml" in acr["encryption"][0]["key_vault_key_id"]
    [task] = res(doc, "azurerm_container_registry_task").values()
    assert task["timer_trigger"][0]["schedule"] == "0 4 * * *"


def test_artifacts_are_versioned_cmk_and_private(doc):
    st = named(doc, "azurerm_storage_account", "registry_artifacts")
    assert st["name"] == "acmedevml" and st["is_hns_enabled"] is False
    assert st["blob_properties"]["versioning_enabled"] is True
    assert (st["shared_access_key_enabled"], st["public_network_access_enabled"]) == (False, False)
    cmk = named(doc, "azurerm_storage_account_customer_managed_key", "registry_artifacts-cmk")
    assert "azurerm_key_vault_key.baseline_key-ml" in cmk["key_vault_key_id"]


def test_private_endpoints_for_workspace_acr_and_artifacts(doc):
    pes = res(doc, "azurerm_private_endpoint")
    subresources = {}
    for r in pes.values():
        conn = r["private_service_connection"]
        subresources[conn["subresource_names"][0]] = conn["private_connection_resource_id"]
    assert "azurerm_machine_learning_workspace.registry_workspace" in subresources["amlworkspace"]
    assert "azurerm_container_registry.registry_acr" in subresources["registry"]
    assert "azurerm_storage_account.registry_artifacts" in subresources["blob"]
    assert "azurerm_storage_account.registry_artifacts" in subresources["file"]
    ws_pe = next(r for r in pes.values() if r["private_service_connection"]["subresource_names"] == ["amlworkspace"])
    assert len(ws_pe["private_dns_zone_group"]["private_dns_zone_ids"]) == 2


def test_model_containers_per_model(doc):
    models = azapi(doc, f"{WS}/models@2024-10-01")
    assert set(models) == {"churn", "fraud"}
    assert all("registry_workspace" in m["parent_id"] for m in models.values())


# --- serving ---------------------------------------------------------------------------------------


def test_endpoints_use_entra_tokens_and_private_flag(doc):
    eps = azapi(doc, f"{WS}/onlineEndpoints@2024-10-01")
    assert set(eps) == {"acme-dev-churn-api", "acme-dev-fraud-pub"}
    for ep in eps.values():
        assert ep["body"]["properties"]["authMode"] == "AADToken"
        assert ep["identity"][0]["type"] == "SystemAssigned"
    assert eps["acme-dev-churn-api"]["body"]["properties"]["publicNetworkAccess"] == "Disabled"
    assert eps["acme-dev-fraud-pub"]["body"]["properties"]["publicNetworkAccess"] == "Enabled"


def test_primary_deployments_capacity_instance_and_capture(doc):
    deps = {
        k: r
        for k, r in res(doc, "azapi_resource").items()
        if r["type"] == f"{WS}/onlineEndpoints/deployments@2024-10-01"
    }
    churn = next(r for k, r in deps.items() if k.startswith("serving_churn-api"))
    fraud = next(r for k, r in deps.items() if k.startswith("serving_fraud-pub"))
    assert churn["name"] == "primary" and churn["body"]["sku"]["capacity"] == 2
    assert churn["body"]["properties"]["instanceType"] == "Standard_DS3_v2"
    assert fraud["body"]["properties"]["instanceType"] == "Standard_F2s_v2"
    coll = churn["body"]["properties"]["dataCollector"]["collections"]
    assert coll["model_inputs"] == {"dataCollectionMode": "Enabled", "samplingRate": 0.25}
    assert coll["model_outputs"]["dataCollectionMode"] == "Enabled"
    assert (
        fraud["body"]["properties"]["dataCollector"]["collections"]["model_inputs"]["dataCollectionMode"] == "Disabled"
    )
    assert churn["body"]["properties"]["egressPublicNetworkAccess"] == "Disabled"
    assert (
        "bootstrap" in churn["body"]["properties"]["model"] or "churn-bootstrap" in churn["body"]["properties"]["model"]
    )
    assert set(churn["lifecycle"]["ignore_changes"]) >= {"body.properties.model", "body.sku.capacity"}
    traffic = [r for r in res(doc, "azapi_update_resource").values()]
    assert len(traffic) == 2 and all(t["body"] == {"properties": {"traffic": {"primary": 100}}} for t in traffic)


def test_autoscale_min_max(doc):
    scales = {r["name"]: r for r in res(doc, "azurerm_monitor_autoscale_setting").values()}
    churn = scales["acme-dev-churn-api-autoscale"]["profile"][0]
    assert churn["capacity"] == {"default": 2, "minimum": 2, "maximum": 5}
    out = churn["rule"][0]["metric_trigger"]
    assert (out["metric_name"], out["threshold"], out["divide_by_instance_count"]) == ("RequestsPerMinute", 300, True)
    assert scales["acme-dev-fraud-pub-autoscale"]["profile"][0]["capacity"] == {
        "default": 1,
        "minimum": 1,
        "maximum": 2,
    }


def test_invoke_and_deploy_are_custom_roles_scoped_to_endpoints_and_workspace(doc):
    roles = {r["name"]: r for r in res(doc, "azurerm_role_definition").values()}
    invoker, deployer = roles["acme-dev-endpoint-invoker"], roles["acme-dev-endpoint-deployer"]
    assert invoker["permissions"][0]["actions"] == [f"{WS}/onlineEndpoints/read", f"{WS}/onlineEndpoints/score/action"]
    assert f"{WS}/onlineEndpoints/deployments/write" in deployer["permissions"][0]["actions"]
    assert not any(a.endswith("/*") or a == "*" for a in deployer["permissions"][0]["actions"])
    invokes = [r for r in assignments(doc, "persona-app_consumers")]
    assert len(invokes) == 2 and all("serving_invoker-role" in r["role_definition_name"] for r in invokes)
    assert sorted(plain(r["scope"]).split(".")[1] for r in invokes) == ["serving_churn-api", "serving_fraud-pub"]
    [deploy] = [r for r in assignments(doc, "persona-ml_engineers") if "deployer-role" in r["role_definition_name"]]
    assert plain(deploy["scope"]) == "${azurerm_machine_learning_workspace.registry_workspace.id}"


def test_no_broad_roles_and_no_group_or_subscription_scope(doc):
    for r in res(doc, "azurerm_role_assignment").values():
        assert r.get("role_definition_name") not in FORBIDDEN_ROLES
        assert "azurerm_resource_group" not in r["scope"] and not r["scope"].startswith("/subscriptions/")


# --- monitoring ------------------------------------------------------------------------------------


def test_action_group_mails_notify(doc):
    [ag] = res(doc, "azurerm_monitor_action_group").values()
    assert sorted(e["email_address"] for e in ag["email_receiver"]) == ["ml@example.com", "oncall@example.com"]


def test_three_alerts_per_endpoint_wired_to_the_action_group(doc):
    ag = "${azurerm_monitor_action_group.monitoring_action-group.id}"
    metric = {r["name"]: r for r in res(doc, "azurerm_monitor_metric_alert").values()}
    logs = {r["name"]: r for r in res(doc, "azurerm_monitor_scheduled_query_rules_alert_v2").values()}
    for ep in ("churn-api", "fraud-pub"):
        lat, cap = metric[f"acme-dev-{ep}-latency-p99"], metric[f"acme-dev-{ep}-at-capacity"]
        assert lat["criteria"][0]["metric_name"] == "RequestLatency_P99" and lat["criteria"][0]["threshold"] == 800
        assert cap["criteria"][0]["metric_name"] == "RequestsPerMinute"
        assert plain(lat["action"][0]["action_group_id"]) == plain(cap["action"][0]["action_group_id"]) == ag
        err = logs[f"acme-dev-{ep}-error-rate"]
        assert (
            err["criteria"][0]["threshold"] == 0.02
            and f'EndpointName == "acme-dev-{ep}"' in err["criteria"][0]["query"]
        )
        assert [plain(a) for a in err["action"]["action_groups"]] == [ag]
    assert metric["acme-dev-churn-api-at-capacity"]["criteria"][0]["threshold"] == 1500


def test_one_gpu_rule_per_pool_wired_to_the_action_group(doc):
    [group] = res(doc, "azurerm_monitor_alert_prometheus_rule_group").values()
    rules = {r["labels"]["pool"]: r for r in group["rule"]}
    assert set(rules) == {"small", "big"}
    for pool, r in rules.items():
        assert "DCGM_FI_DEV_GPU_UTIL" in r["expression"] and f'label_mlops_io_pool="{pool}"' in r["expression"]
        assert r["expression"].endswith("> 90") and r["for"] == "PT30M"
        assert plain(r["action"][0]["action_group_id"]) == "${azurerm_monitor_action_group.monitoring_action-group.id}"
    assert "azurerm_monitor_workspace.training_prometheus" in group["scopes"][0]


def test_workbook_shows_each_endpoint_and_pool(doc):
    [wb] = res(doc, "azurerm_application_insights_workbook").values()
    data = json.loads(wb["data_json"])
    assert data["version"] == "Notebook/1.0"
    names = {i["name"] for i in data["items"]}
    for ep in ("acme-dev-churn-api", "acme-dev-fraud-pub"):
        assert {f"{ep}-latency", f"{ep}-requests", f"{ep}-errors"} <= names
    assert {"small-gpu", "big-gpu"} <= names
    assert wb["name"] == AzureNames("acme", "dev").workbook_id()
