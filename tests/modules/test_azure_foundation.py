"""Synth tests of the Azure foundation (baseline, data lake, catalog), each asserted by its resources and
their properties. The stack here is a bare TerraformStack with an azurerm provider made by the test."""

from __future__ import annotations

import json
import re

import pytest
from cdktn import TerraformStack
from cdktn import Testing as CdkTesting
from cdktn_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures

from mlops_blueprint.blueprints import loads
from mlops_blueprint.blueprints.model import PERSONAS, Catalog, Database
from mlops_blueprint.modules.baseline.azure import AzureBaseline, BaselineProps, subnet_layout
from mlops_blueprint.modules.catalog.azure import AzureCatalog, CatalogProps
from mlops_blueprint.modules.data_lake.azure import AzureDataLake, DataLakeProps
from mlops_blueprint.stacks.azure.names import AzureNames
from tests.modules.conftest import one, resources

SUB = "00000000-0000-0000-0000-000000000000"
BLUEPRINT = f"""
apiVersion: mlops.blueprint/v1
kind: Blueprint
metadata: {{name: fnd, owner: ml-platform@example.com, cost_center: cc-1234}}
target: {{cloud: azure, region: westeurope, subscription_id: {SUB}}}
baseline:
  budget: {{monthly_limit_usd: 2500, alert_at_percent: 75}}
components:
  data_lake:
    zones: [raw, curated, features]
    retention_days: {{raw: 365, features: 30}}
    noncurrent_version_days: 60
  catalog:
    databases:
      sales: {{zones: [curated]}}
      features: {{zones: [features, curated]}}
      notes: {{description: no zones}}
    crawl_schedule: "0 4 * * *"
  training:
    pools:
      gpu-a: {{accelerator: nvidia-t4, gpus_per_node: 1, max_nodes: 2, spot: true}}
  monitoring:
    notify: [ml-oncall@example.com]
environments:
  dev: {{protect_stateful: false}}
  prod: {{}}
"""
PERSONA_RA = "${azurerm_user_assigned_identity.baseline_persona-"
FORBIDDEN_ROLES = {"Owner", "Contributor", "User Access Administrator"}


def build(env: str, *, text: str = BLUEPRINT, grants: bool = True) -> tuple[dict, AzureCatalog]:
    """The three foundation constructs for `env`, with the persona grants the composition would make."""
    resolved = loads(text).envs[env]
    bp = resolved.blueprint
    protect = resolved.settings.protect_stateful
    names = AzureNames(bp.metadata.name, env)
    stack = TerraformStack(CdkTesting.app(), "test")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()], subscription_id=SUB)
    baseline = AzureBaseline(
        stack,
        "baseline",
        props=BaselineProps(
            naming=names,
            spec=bp.baseline,
            location=bp.target.region,
            notify=tuple(bp.components.monitoring.notify),
            tags={"owner": bp.metadata.owner},
            protect=protect,
        ),
    )
    lake = AzureDataLake(
        stack,
        "data_lake",
        props=DataLakeProps(naming=names, spec=bp.components.data_lake, baseline=baseline, protect=protect),
    )
    catalog = AzureCatalog(
        stack,
        "catalog",
        props=CatalogProps(naming=names, spec=bp.components.catalog, baseline=baseline, lake=lake, protect=protect),
    )
    if grants:
        for persona in PERSONAS:
            spec, who = getattr(bp.access, persona), baseline.personas[persona]
            lake.grant(
                who,
                read=[z for z in spec.lake.read if z in lake.zones],
                write=[z for z in spec.lake.write if z in lake.zones],
                id=f"{persona}-lake",
            )
            catalog.grant(who, spec.catalog, id=f"{persona}-catalog")
    return json.loads(CdkTesting.synth(stack)), catalog


@pytest.fixture(scope="module")
def dev() -> dict:
    return build("dev")[0]


@pytest.fixture(scope="module")
def prod() -> dict:
    return build("prod")[0]


def ref(rtype: str, key: str, attr: str = "id") -> str:
    return f"${{{rtype}.{key}.{attr}}}"


def key_of(doc: dict, rtype: str, prefix: str) -> str:
    [key] = [k for k in resources(doc, rtype) if k.startswith(prefix)]
    return key


def assignments(doc: dict) -> list[dict]:
    return list(resources(doc, "azurerm_role_assignment").values())


def persona_assignments(doc: dict, persona: str) -> list[dict]:
    return [ra for ra in assignments(doc) if ra["principal_id"].startswith(f"{PERSONA_RA}{persona}_")]


# --- baseline ------------------------------------------------------------------------------------------


def test_subnets_deny_internet_inbound_and_have_no_default_outbound(dev):
    subnets = {s["name"]: s for s in resources(dev, "azurerm_subnet").values()}
    assert sorted(subnets) == ["snet-endpoints", "snet-workloads"]
    assert subnets["snet-workloads"]["address_prefixes"] == ["10.40.0.0/18"]
    assert subnets["snet-endpoints"]["address_prefixes"] == ["10.40.64.0/20"]
    assert subnets["snet-endpoints"]["private_endpoint_network_policies"] == "Enabled"
    assert all(s["default_outbound_access_enabled"] is False for s in subnets.values())
    nsgs = resources(dev, "azurerm_network_security_group")
    assert len(nsgs) == 2
    rules = resources(dev, "azurerm_network_security_rule")
    deny = {
        r["network_security_group_name"]: r
        for r in rules.values()
        if (r["direction"], r["access"], r["source_address_prefix"]) == ("Inbound", "Deny", "Internet")
    }
    assert set(deny) == {ref("azurerm_network_security_group", k, "name") for k in nsgs}
    assert all((r["protocol"], r["destination_port_range"], r["priority"]) == ("*", "*", 4096) for r in deny.values())
    assoc = resources(dev, "azurerm_subnet_network_security_group_association").values()
    assert {a["subnet_id"] for a in assoc} == {ref("azurerm_subnet", k) for k in resources(dev, "azurerm_subnet")}
    assert {a["network_security_group_id"] for a in assoc} == {ref("azurerm_network_security_group", k) for k in nsgs}


def test_subnet_layout_scales_with_the_cidr_and_refuses_bad_ones():
    assert subnet_layout("10.8.0.0/20") == {"workloads": "10.8.0.0/22", "endpoints": "10.8.4.0/24"}
    assert subnet_layout("10.8.0.0/24") == {"workloads": "10.8.0.0/26", "endpoints": "10.8.0.64/28"}
    with pytest.raises(ValueError, match=r"'10.40.1.0/16' is not a network address.*10.40.0.0/16"):
        subnet_layout("10.40.1.0/16")


def test_key_vault_is_rbac_purge_protected_and_private(dev):
    kv = one(dev, "azurerm_key_vault")
    assert (kv["name"], kv["sku_name"]) == ("kv-fnd-dev", "premium")
    assert (kv["rbac_authorization_enabled"], kv["purge_protection_enabled"], kv["soft_delete_retention_days"]) == (
        True,
        True,
        90,
    )
    assert kv["public_network_access_enabled"] is False
    assert kv["network_acls"] == {"bypass": "AzureServices", "default_action": "Deny"}
    kv_key = key_of(dev, "azurerm_key_vault", "baseline_key-vault")
    pe = one(
        dev,
        "azurerm_private_endpoint",
        subnet_id=ref("azurerm_subnet", key_of(dev, "azurerm_subnet", "baseline_subnet-endpoints")),
        private_service_connection={
            "is_manual_connection": False,
            "name": "pe-fnd-dev-baseline-key-vault-endpoint-vault",
            "private_connection_resource_id": ref("azurerm_key_vault", kv_key),
            "subresource_names": ["vault"],
        },
    )
    zone_key = key_of(dev, "azurerm_private_dns_zone", "baseline_dns-privatelink-vaultcore")
    assert pe["private_dns_zone_group"]["private_dns_zone_ids"] == [ref("azurerm_private_dns_zone", zone_key)]


def test_keys_are_hsm_backed_and_rotate(dev, prod):
    keys = {k["name"]: k for k in resources(dev, "azurerm_key_vault_key").values()}
    assert sorted(keys) == ["cmk-data", "cmk-ml", "cmk-ops"]
    for k in keys.values():
        assert (k["key_type"], k["key_size"], k["key_opts"]) == ("RSA-HSM", 3072, ["wrapKey", "unwrapKey"])
        assert k["rotation_policy"] == {
            "automatic": {"time_after_creation": "P90D"},
            "expire_after": "P2Y",
            "notify_before_expiry": "P30D",
        }
        assert any("azurerm_role_assignment.baseline_deployer-key-officer" in d for d in k["depends_on"])
        assert "lifecycle" not in k
    assert all(k["lifecycle"] == {"prevent_destroy": True} for k in resources(prod, "azurerm_key_vault_key").values())
    assert one(prod, "azurerm_key_vault")["lifecycle"] == {"prevent_destroy": True}


def test_encryption_identity_and_the_deployer_are_the_only_vault_grants(dev):
    kv = ref("azurerm_key_vault", key_of(dev, "azurerm_key_vault", "baseline_key-vault"))
    on_vault = {ra["role_definition_name"]: ra for ra in assignments(dev) if ra["scope"] == kv}
    assert sorted(on_vault) == ["Key Vault Crypto Officer", "Key Vault Crypto Service Encryption User"]
    enc = on_vault["Key Vault Crypto Service Encryption User"]
    assert enc["principal_id"].startswith("${azurerm_user_assigned_identity.baseline_encryption-identity")
    assert on_vault["Key Vault Crypto Officer"]["principal_id"].startswith(
        "${data.azurerm_client_config.baseline_client"
    )


def test_one_identity_per_persona_and_the_baseline_grants_them_nothing():
    doc, _ = build("dev", grants=False)
    names = sorted(i["name"] for i in resources(doc, "azurerm_user_assigned_identity").values())
    assert names == [
        "id-fnd-dev-app-consumers",
        "id-fnd-dev-cmk",
        "id-fnd-dev-data-engineers",
        "id-fnd-dev-data-scientists",
        "id-fnd-dev-ml-engineers",
    ]
    assert not [ra for ra in assignments(doc) if ra["principal_id"].startswith(PERSONA_RA)]


def test_logs_and_budget(dev):
    law = one(dev, "azurerm_log_analytics_workspace")
    assert (law["local_authentication_enabled"], law["retention_in_days"], law["sku"]) == (False, 90, "PerGB2018")
    budget = one(dev, "azurerm_consumption_budget_resource_group")
    assert budget["amount"] == 2500 and budget["time_grain"] == "Monthly"
    assert budget["resource_group_id"] == ref(
        "azurerm_resource_group", key_of(dev, "azurerm_resource_group", "baseline_rg")
    )
    assert [(n["threshold"], n["threshold_type"], n["contact_emails"]) for n in budget["notification"]] == [
        (75, "Forecasted", ["ml-oncall@example.com"]),
        (100, "Actual", ["ml-oncall@example.com"]),
    ]
    assert budget["lifecycle"] == {"ignore_changes": ["time_period"]}
    assert one(dev, "azurerm_resource_group")["tags"] == {"owner": "ml-platform@example.com"}


# --- data lake -----------------------------------------------------------------------------------------


def test_lake_account_is_hns_cmk_private_and_recoverable(dev):
    st = one(dev, "azurerm_storage_account")
    assert (st["name"], st["account_kind"], st["is_hns_enabled"]) == ("fnddevdl", "StorageV2", True)
    assert st["infrastructure_encryption_enabled"] is True
    assert (st["shared_access_key_enabled"], st["default_to_oauth_authentication"]) == (False, True)
    assert (st["public_network_access"], st["allow_nested_items_to_be_public"]) == ("Disabled", False)
    assert (st["min_tls_version"], st["https_traffic_only_enabled"]) == ("TLS1_2", True)
    assert st["network_rules"] == {"bypass": ["AzureServices"], "default_action": "Deny"}
    assert st["identity"]["type"] == "UserAssigned"
    # versioning is impossible with HNS: the blueprint's 60 noncurrent days become soft delete
    assert st["blob_properties"] == {
        "versioning_enabled": False,
        "change_feed_enabled": False,
        "delete_retention_policy": {"days": 60},
        "container_delete_retention_policy": {"days": 60},
    }
    cmk = one(dev, "azurerm_storage_account_customer_managed_key")
    st_key = key_of(dev, "azurerm_storage_account", "data_lake_account")
    assert cmk["storage_account_id"] == ref("azurerm_storage_account", st_key)
    assert cmk["key_vault_key_id"] == ref(
        "azurerm_key_vault_key", key_of(dev, "azurerm_key_vault_key", "baseline_key-data"), "versionless_id"
    )
    assert cmk["user_assigned_identity_id"] == ref(
        "azurerm_user_assigned_identity", key_of(dev, "azurerm_user_assigned_identity", "baseline_encryption-identity")
    )
    assert st["lifecycle"] == {"ignore_changes": ["customer_managed_key"]}


def test_private_endpoints_and_dns_zones_for_vault_dfs_blob_and_purview(dev):
    zones = sorted(z["name"] for z in resources(dev, "azurerm_private_dns_zone").values())
    assert zones == [
        "privatelink.blob.core.windows.net",
        "privatelink.dfs.core.windows.net",
        "privatelink.purview.azure.com",
        "privatelink.purviewstudio.azure.com",
        "privatelink.vaultcore.azure.net",
    ]
    links = resources(dev, "azurerm_private_dns_zone_virtual_network_link").values()
    assert len(links) == 5 and all(lk["registration_enabled"] is False for lk in links)
    subs = sorted(
        pe["private_service_connection"]["subresource_names"][0]
        for pe in resources(dev, "azurerm_private_endpoint").values()
    )
    assert subs == ["account", "blob", "dfs", "portal", "vault"]
    endpoints_subnet = ref("azurerm_subnet", key_of(dev, "azurerm_subnet", "baseline_subnet-endpoints"))
    assert {pe["subnet_id"] for pe in resources(dev, "azurerm_private_endpoint").values()} == {endpoints_subnet}


def test_one_filesystem_per_zone_and_protection_follows_the_environment(dev, prod):
    fs = {f["name"]: f for f in resources(dev, "azurerm_storage_data_lake_gen2_filesystem").values()}
    assert sorted(fs) == ["curated", "features", "raw"]
    assert all("lifecycle" not in f for f in fs.values())
    assert all(any("deployer-data-contributor" in d for d in f["depends_on"]) for f in fs.values())
    assert all(
        f["lifecycle"] == {"prevent_destroy": True}
        for f in resources(prod, "azurerm_storage_data_lake_gen2_filesystem").values()
    )
    assert one(prod, "azurerm_storage_account")["lifecycle"] == {
        "prevent_destroy": True,
        "ignore_changes": ["customer_managed_key"],
    }
    assert one(prod, "azurerm_purview_account")["lifecycle"] == {"prevent_destroy": True}
    assert "lifecycle" not in one(dev, "azurerm_purview_account")


def test_lifecycle_rules_come_from_retention_days(dev):
    policy = one(dev, "azurerm_storage_management_policy")
    rules = {r["name"]: r for r in policy["rule"]}
    assert sorted(rules) == ["expire-features", "expire-raw"]
    assert rules["expire-raw"]["filters"]["prefix_match"] == ["raw/"]
    assert rules["expire-raw"]["actions"] == {"base_blob": {"delete_after_days_since_modification_greater_than": 365}}
    assert rules["expire-features"]["actions"]["base_blob"]["delete_after_days_since_modification_greater_than"] == 30


def test_persona_grants_are_scoped_to_exactly_one_zone_filesystem(dev):
    st = ref("azurerm_storage_account", key_of(dev, "azurerm_storage_account", "data_lake_account"))

    def zone_grants(persona: str) -> dict[str, str]:
        out = {}
        for ra in persona_assignments(dev, persona):
            m = re.fullmatch(
                re.escape(st)
                + r"/blobServices/default/containers/\$\{azurerm_storage_data_lake_gen2_filesystem\.data_lake_zone-([a-z]+)_[0-9A-F]+\.name\}",
                ra["scope"],
            )
            if m:
                assert m.group(1) not in out, f"two grants for {persona} on {m.group(1)}"
                out[m.group(1)] = ra["role_definition_name"]
        return out

    write, read = "Storage Blob Data Contributor", "Storage Blob Data Reader"
    assert zone_grants("data_engineers") == {"raw": write, "curated": write, "features": write}
    assert zone_grants("data_scientists") == {"curated": read, "features": read}
    assert not [ra for ra in persona_assignments(dev, "data_scientists") if ra["role_definition_name"] == write]
    assert zone_grants("ml_engineers") == {"features": read}
    assert zone_grants("app_consumers") == {}


def test_lake_grant_refuses_unknown_zones():
    doc_stack = TerraformStack(CdkTesting.app(), "t")
    bp = loads(BLUEPRINT).envs["dev"].blueprint
    names = AzureNames("fnd", "dev")
    b = AzureBaseline(
        doc_stack,
        "baseline",
        props=BaselineProps(
            naming=names, spec=bp.baseline, location="westeurope", notify=("a@example.com",), tags={}, protect=False
        ),
    )
    lake = AzureDataLake(
        doc_stack,
        "data_lake",
        props=DataLakeProps(naming=names, spec=bp.components.data_lake, baseline=b, protect=False),
    )
    with pytest.raises(
        ValueError, match=r"grant 'x' names zones the lake does not have: gold; lake zones: raw, curated, features"
    ):
        lake.grant(b.personas["data_engineers"], read=["gold"], write=[], id="x")


# --- catalog -------------------------------------------------------------------------------------------


def test_purview_is_private_with_system_identity(dev):
    pv = one(dev, "azurerm_purview_account")
    assert (pv["name"], pv["public_network_enabled"], pv["managed_event_hub_enabled"]) == (
        "pview-fnd-dev",
        False,
        False,
    )
    assert pv["identity"] == {"type": "SystemAssigned"}


def test_one_directory_per_database_and_zone(dev):
    dirs = sorted(
        (d["path"], d["filesystem_name"].split("zone-")[1].split("_")[0], d["resource"])
        for d in resources(dev, "azurerm_storage_data_lake_gen2_path").values()
    )
    assert dirs == [
        ("features", "curated", "directory"),
        ("features", "features", "directory"),
        ("sales", "curated", "directory"),
    ]


def test_purview_identity_reads_only_crawled_zones(dev):
    pv_key = key_of(dev, "azurerm_purview_account", "catalog_purview")
    mine = [
        ra
        for ra in assignments(dev)
        if ra["principal_id"] == f"${{azurerm_purview_account.{pv_key}.identity[0].principal_id}}"
    ]
    zones = sorted(re.search(r"data_lake_zone-([a-z]+)_", ra["scope"]).group(1) for ra in mine)
    assert zones == ["curated", "features"]  # raw is crawled by no database
    assert {ra["role_definition_name"] for ra in mine} == {"Storage Blob Data Reader"}


def test_catalog_grants_give_reader_on_purview_and_no_lake_write():
    doc, catalog = build("dev")
    pv = ref("azurerm_purview_account", key_of(doc, "azurerm_purview_account", "catalog_purview"))
    on_pv = {
        persona: {ra["role_definition_name"] for ra in persona_assignments(doc, persona) if ra["scope"] == pv}
        for persona in PERSONAS
    }
    assert on_pv == {
        "data_engineers": {"Reader"},
        "data_scientists": {"Reader"},
        "ml_engineers": {"Reader"},
        "app_consumers": set(),
    }
    assert [r.role for r in catalog.collection_roles] == ["Data Curator", "Data Reader", "Data Reader"]
    catalog_ras = [k for k in resources(doc, "azurerm_role_assignment") if k.startswith("catalog_") and "-catalog" in k]
    assert len(catalog_ras) == 3  # nothing on the lake from the catalog grants


def test_scans_follow_the_crawl_schedule(dev):
    _, catalog = build("dev", grants=False)
    assert catalog.scans == {
        "sales": {"zones": ["curated"], "schedule": "0 4 * * *"},
        "features": {"zones": ["features", "curated"], "schedule": "0 4 * * *"},
    }


def test_catalog_database_naming_a_missing_zone_is_refused():
    stack = TerraformStack(CdkTesting.app(), "t")
    bp = loads(BLUEPRINT).envs["dev"].blueprint
    names = AzureNames("fnd", "dev")
    b = AzureBaseline(
        stack,
        "baseline",
        props=BaselineProps(
            naming=names, spec=bp.baseline, location="westeurope", notify=("a@example.com",), tags={}, protect=False
        ),
    )
    lake = AzureDataLake(
        stack, "data_lake", props=DataLakeProps(naming=names, spec=bp.components.data_lake, baseline=b, protect=False)
    )
    spec = Catalog(databases={"gold_db": Database(zones=["gold"])})
    with pytest.raises(
        ValueError,
        match=r"catalog database 'gold_db' lists zones the data lake does not have: gold; "
        r"lake zones: raw, curated, features",
    ):
        AzureCatalog(
            stack, "catalog", props=CatalogProps(naming=names, spec=spec, baseline=b, lake=lake, protect=False)
        )
    with pytest.raises(ValueError, match=r"lake zones: none \(no data lake\)"):
        AzureCatalog(
            stack, "catalog2", props=CatalogProps(naming=names, spec=spec, baseline=b, lake=None, protect=False)
        )
    with pytest.raises(ValueError, match=r"level 'admin' is not one of none, read, write"):
        AzureCatalog(
            stack,
            "catalog3",
            props=CatalogProps(
                naming=names,
                spec=Catalog(databases={"x": Database()}),
                baseline=b,
                lake=lake,
                protect=False,
            ),
        ).grant(b.personas["data_engineers"], "admin", id="bad")


# --- across the foundation -----------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_broad_roles_and_every_scope_is_a_resource(env, dev, prod):
    doc = {"dev": dev, "prod": prod}[env]
    ras = assignments(doc)
    assert ras
    assert not FORBIDDEN_ROLES & {ra["role_definition_name"] for ra in ras}
    rg = ref("azurerm_resource_group", key_of(doc, "azurerm_resource_group", "baseline_rg"))
    for ra in ras:
        scope = ra["scope"]
        assert scope != rg and not re.fullmatch(r"/subscriptions/[^/]+(/resourceGroups/[^/]+)?/?", scope), scope
        assert scope.startswith("${azurerm_") and not scope.startswith("${azurerm_resource_group"), scope
        assert "subscription" not in scope


def test_diagnostics_on_vault_storage_and_purview(dev):
    targets = {d["target_resource_id"]: d for d in resources(dev, "azurerm_monitor_diagnostic_setting").values()}
    law = ref(
        "azurerm_log_analytics_workspace", key_of(dev, "azurerm_log_analytics_workspace", "baseline_log-analytics")
    )
    assert {d["log_analytics_workspace_id"] for d in targets.values()} == {law}
    kv = ref("azurerm_key_vault", key_of(dev, "azurerm_key_vault", "baseline_key-vault"))
    st = ref("azurerm_storage_account", key_of(dev, "azurerm_storage_account", "data_lake_account"))
    pv = ref("azurerm_purview_account", key_of(dev, "azurerm_purview_account", "catalog_purview"))
    full = {"enabled_log": [{"category_group": "allLogs"}], "enabled_metric": [{"category": "AllMetrics"}]}
    for target in (kv, f"{st}/blobServices/default", pv):
        assert {k: targets[target][k] for k in full} == full, target
    assert targets[st]["enabled_metric"] == [{"category": "AllMetrics"}] and "enabled_log" not in targets[st]
    nsg_diags = [d for t, d in targets.items() if t.startswith("${azurerm_network_security_group.")]
    assert len(nsg_diags) == 2 and all("enabled_metric" not in d for d in nsg_diags)
