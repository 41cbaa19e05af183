"""Synth tests: every GCP construct, asserted by its resources and their properties (the starter
retargeted to GCP by one line), plus retargeting every AWS reference blueprint."""

import json

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.modules.monitoring.gcp import render_dashboard
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.gcp.names import vertex_endpoint_id as endpoint_id
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import REFERENCE
from tests.modules.conftest import one, resources, retarget

KEY = "${google_kms_crypto_key.baseline_key-"


def test_lake_bucket_per_zone_is_cmek_versioned_uniform_and_not_public(gcp_starter):
    dev = gcp_starter["dev"]
    buckets = {r["name"]: r for r in resources(dev, "google_storage_bucket").values()}
    assert sorted(buckets) == [
        "starter-dev-curated",
        "starter-dev-features",
        "starter-dev-model-artifacts",
        "starter-dev-raw",
    ]
    for b in buckets.values():
        assert b["encryption"]["default_kms_key_name"].startswith(KEY)
        assert (b["uniform_bucket_level_access"], b["public_access_prevention"], b["versioning"]["enabled"]) == (
            True,
            "enforced",
            True,
        )
        assert b["location"] == "EUROPE-WEST4" and b["force_destroy"] is True
        assert any("google_kms_crypto_key_iam_member.baseline_key-" in dep for dep in b["depends_on"])
    raw_rules = buckets["starter-dev-raw"]["lifecycle_rule"]
    assert {"action": {"type": "Delete"}, "condition": {"age": 365, "with_state": "LIVE"}} in raw_rules
    assert not any(r["condition"].get("age") == 365 for r in buckets["starter-dev-curated"]["lifecycle_rule"])


def test_protection_follows_the_environment(gcp_starter):
    prod = next(iter(resources(gcp_starter["prod"], "google_storage_bucket").values()))
    assert prod["force_destroy"] is False and prod["lifecycle"] == {"prevent_destroy": True}
    assert one(gcp_starter["prod"], "google_container_cluster")["deletion_protection"] is True
    assert one(gcp_starter["dev"], "google_container_cluster")["deletion_protection"] is False


def test_baseline_network_is_isolated_and_apis_are_private(gcp_starter):
    dev = gcp_starter["dev"]
    net = one(dev, "google_compute_network")
    assert (net["auto_create_subnetworks"], net["delete_default_routes_on_create"]) == (False, True)
    sub = one(dev, "google_compute_subnetwork")
    assert sub["private_ip_google_access"] is True
    assert {r["range_name"] for r in sub["secondary_ip_range"]} == {"pods", "services"}
    [route] = resources(dev, "google_compute_route").values()
    assert route["dest_range"] == "199.36.153.8/30"
    deny = one(dev, "google_compute_firewall", direction="EGRESS", priority=65000)
    assert deny["destination_ranges"] == ["0.0.0.0/0"] and deny["deny"] == [{"protocol": "all"}]
    zones = {z["dns_name"] for z in resources(dev, "google_dns_managed_zone").values()}
    assert zones == {"googleapis.com.", "pkg.dev.", "gcr.io."}


def test_keys_rotate_and_service_agents_get_only_their_keys(gcp_starter):
    dev = gcp_starter["dev"]
    keys = resources(dev, "google_kms_crypto_key")
    assert sorted(k["name"] for k in keys.values()) == ["data", "ml", "ops"]
    assert all(k["rotation_period"] == "7776000s" for k in keys.values())
    grants = resources(dev, "google_kms_crypto_key_iam_member")
    on_data = sorted(name.split("-")[2].split("_")[0] for name in grants if name.startswith("baseline_key-data"))
    assert on_data == ["bigquery", "storage"]
    assert all(g["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter" for g in grants.values())


def test_personas_are_service_accounts_with_no_primitive_roles(gcp_starter):
    dev = gcp_starter["dev"]
    ids = sorted(sa["account_id"] for sa in resources(dev, "google_service_account").values())
    assert ids == sorted(
        [
            "starter-dev-data-eng",
            "starter-dev-data-sci",
            "starter-dev-ml-eng",
            "starter-dev-apps",
            "starter-dev-gke-nodes",
            "starter-dev-trainer",
            "starter-dev-serving",
        ]
    )
    roles = [m["role"] for t, rs in dev["resource"].items() if t.endswith("_iam_member") for m in rs.values()]
    assert roles and not {"roles/owner", "roles/editor", "roles/viewer"} & set(roles)


def test_persona_access_follows_the_access_block(gcp_starter):
    dev = gcp_starter["dev"]
    members = resources(dev, "google_storage_bucket_iam_member")
    de_raw = next(m for k, m in members.items() if k.startswith("data_lake_raw_data_engineers-lake-raw"))
    ds_features = next(
        m for k, m in members.items() if k.startswith("data_lake_features_data_scientists-lake-features")
    )
    assert de_raw["role"] == "roles/storage.objectUser" and ds_features["role"] == "roles/storage.objectViewer"
    assert "google_service_account.baseline_sa-data_engineers" in de_raw["member"]
    assert not any("data_scientists-lake-raw" in k for k in members)
    assert not any("app_consumers" in k for k in members)
    invoke = [
        m
        for k, m in resources(dev, "google_vertex_ai_endpoint_iam_member").items()
        if k.startswith("serving_app_consumers")
    ]
    assert len(invoke) == 1 and "google_project_iam_custom_role.serving_invoker-role" in invoke[0]["role"]
    invoker = one(dev, "google_project_iam_custom_role", role_id="starter_dev_endpoint_invoker")
    assert invoker["permissions"] == ["aiplatform.endpoints.predict", "aiplatform.endpoints.get"]


def test_catalog_dataplex_lake_zones_assets_and_bigquery_datasets(gcp_starter):
    dev = gcp_starter["dev"]
    assert one(dev, "google_dataplex_lake")["name"] == "starter-dev-lake"
    zones = {z["name"]: z for z in resources(dev, "google_dataplex_zone").values()}
    assert sorted(zones) == ["curated", "features"] and {z["type"] for z in zones.values()} == {"CURATED"}
    assert all(z["discovery_spec"] == {"enabled": True, "schedule": "0 3 * * *"} for z in zones.values())
    assets = [a["resource_spec"] for a in resources(dev, "google_dataplex_asset").values()]
    assert {
        "name": "projects/acme-ml-platform/buckets/${google_storage_bucket.data_lake_curated_bucket_E02FC21E.name}",
        "type": "STORAGE_BUCKET",
    } in assets
    datasets = sorted(d["dataset_id"] for d in resources(dev, "google_bigquery_dataset").values())
    assert datasets == ["starter_dev_features", "starter_dev_inference_capture", "starter_dev_sales"]


def test_gke_is_private_with_workload_identity_and_accelerator_pools(gcp_starter):
    dev = gcp_starter["dev"]
    c = one(dev, "google_container_cluster")
    assert (
        c["private_cluster_config"]["enable_private_endpoint"] is True
        and c["private_cluster_config"]["enable_private_nodes"] is True
    )
    assert c["workload_identity_config"] == {"workload_pool": "acme-ml-platform.svc.id.goog"}
    assert c["database_encryption"]["state"] == "ENCRYPTED" and c["database_encryption"]["key_name"].startswith(KEY)
    pool = one(dev, "google_container_node_pool", name="starter-dev-gpu-a")
    nc = pool["node_config"]
    assert nc["machine_type"] == "g2-standard-8" and nc["spot"] is True
    assert nc["guest_accelerator"][0]["type"] == "nvidia-l4" and nc["guest_accelerator"][0]["count"] == 1
    assert nc["taint"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert nc["labels"] == {"mlops.io/pool": "gpu-a", "mlops.io/accelerator": "nvidia-l4"}
    assert pool["autoscaling"] == {"total_min_node_count": 0, "total_max_node_count": 1, "location_policy": "ANY"}
    prod = one(gcp_starter["prod"], "google_container_node_pool", name="starter-prod-gpu-a")
    assert prod["autoscaling"]["total_max_node_count"] == 4


def test_registry_is_immutable_cmek_with_a_metadata_store(gcp_starter):
    dev = gcp_starter["dev"]
    repo = one(dev, "google_artifact_registry_repository", mode="STANDARD_REPOSITORY")  # besides the k8s mirror
    assert repo["repository_id"] == "starter-dev-fraud" and repo["docker_config"] == {"immutable_tags": True}
    assert repo["kms_key_name"].startswith(KEY) and repo["vulnerability_scanning_config"] == {
        "enablement_config": "INHERITED"
    }
    assert [p["most_recent_versions"]["keep_count"] for p in repo["cleanup_policies"] if p["action"] == "KEEP"] == [30]
    store = one(dev, "google_vertex_ai_metadata_store")
    assert store["name"] == "starter-dev-metadata" and store["encryption_spec"]["kms_key_name"].startswith(KEY)


def test_endpoints_are_cmek_private_and_log_requests(gcp_starter):
    ep = one(gcp_starter["dev"], "google_vertex_ai_endpoint")
    assert ep["display_name"] == "starter-dev-fraud-api" and ep["name"] == endpoint_id("starter-dev-fraud-api")
    assert len(ep["name"]) == 10 and ep["name"][0] != "0"
    assert ep["encryption_spec"]["kms_key_name"].startswith(KEY)
    assert ep["private_service_connect_config"] == {
        "enable_private_service_connect": True,
        "project_allowlist": ["acme-ml-platform"],
        # Vertex AI creates the PSC endpoint (forwarding rule) in the platform network
        "psc_automation_configs": [
            {"project_id": "acme-ml-platform", "network": "${google_compute_network.baseline_vpc_7A99344D.id}"}
        ],
    }
    log = ep["predict_request_response_logging_config"]
    assert log["enabled"] is True and log["sampling_rate"] == 1
    assert log["bigquery_destination"]["output_uri"].startswith("bq://acme-ml-platform.")


def test_monitoring_alerts_on_endpoints_and_pools_and_renders_a_dashboard(gcp_starter):
    dev = gcp_starter["dev"]
    policies = {p["display_name"]: p for p in resources(dev, "google_monitoring_alert_policy").values()}
    assert sorted(policies) == [
        "starter-dev-fraud-api-at-capacity",
        "starter-dev-fraud-api-error-rate",
        "starter-dev-fraud-api-latency-p99",
        "starter-dev-gpu-a-gpu-saturated",
    ]
    lat = policies["starter-dev-fraud-api-latency-p99"]["conditions"][0]["condition_threshold"]
    assert lat["threshold_value"] == 250 and "prediction_latencies" in lat["filter"]
    err = policies["starter-dev-fraud-api-error-rate"]["conditions"][0]["condition_threshold"]
    assert "error_count" in err["filter"] and "prediction_count" in err["denominator_filter"]
    assert all(p["notification_channels"] for p in policies.values())
    board = json.loads(one(dev, "google_monitoring_dashboard")["dashboard_json"])
    titles = [t["widget"]["title"] for t in board["mosaicLayout"]["tiles"]]
    assert titles[:2] == ["fraud-api: predictions/s", "fraud-api: p99 latency (ms)"]
    assert "pool gpu-a: accelerator duty cycle %" in titles


def test_dashboard_template_escapes_names_and_lays_tiles_out():
    text = render_dashboard('a "quoted" title', {"ep": "1234567890"}, "c", ["p1"])
    board = json.loads(text)
    assert board["displayName"] == 'a "quoted" title'
    tiles = board["mosaicLayout"]["tiles"]
    assert len(tiles) == 6 and [(t["xPos"], t["yPos"]) for t in tiles[:3]] == [(0, 0), (6, 0), (0, 4)]
    assert (
        'resource.labels.endpoint_id = "1234567890"'
        in tiles[0]["widget"]["xyChart"]["dataSets"][0]["timeSeriesQuery"]["timeSeriesFilter"]["filter"]
    )


def test_labels_and_gcs_backend(gcp_starter):
    dev = gcp_starter["dev"]
    labels = dev["provider"]["google"][0]["default_labels"]
    assert labels["owner"] == "ml-platform-example-com" and labels["mlops_environment"] == "dev"
    assert dev["terraform"]["backend"] == {"gcs": {"bucket": "starter-dev-tfstate", "prefix": "starter/dev"}}


def test_a_construct_refuses_an_unmappable_pool():
    from mlops_blueprint.modules.training.gcp import machine_for

    with pytest.raises(ValueError, match="nvidia-a10g x1 has no GCP machine type"):
        machine_for("p", "nvidia-a10g", 1)


# The tactical tier (no catalog, no serving) is no complete platform; tests/scripts/test_catalog.py retargets it.
AWS_REFERENCE = [p for p in REFERENCE if "cloud: aws" in p.read_text() and "tier: tactical" not in p.read_text()]
COMPONENT_TYPES = {
    "google_storage_bucket",
    "google_dataplex_lake",
    "google_bigquery_dataset",
    "google_container_cluster",
    "google_container_node_pool",
    "google_artifact_registry_repository",
    "google_vertex_ai_metadata_store",
    "google_vertex_ai_endpoint",
    "google_monitoring_alert_policy",
    "google_monitoring_dashboard",
    "google_kms_crypto_key",
    "google_compute_network",
    "google_service_account",
    "google_secret_manager_secret",
}


@pytest.mark.parametrize("path", AWS_REFERENCE, ids=lambda p: p.stem)
def test_every_aws_reference_retargets_to_a_complete_gcp_platform(path, tmp_path):
    moved = tmp_path / path.name
    moved.write_text(retarget(path.read_text()))
    lb = load(moved)
    results = synth(lb, lb.select(None), tmp_path / "out", DeploySettings())
    assert [r.env for r in results] == list(lb.envs)
    for r in results:
        doc = json.loads(r.json_path.read_text())
        assert COMPONENT_TYPES <= set(doc["resource"]), COMPONENT_TYPES - set(doc["resource"])
        bp = lb.envs[r.env].blueprint
        # one per blueprint pool, plus the untainted system pool
        assert len(resources(doc, "google_container_node_pool")) == len(bp.components.training.pools) + 1
        assert len(resources(doc, "google_vertex_ai_endpoint")) == len(bp.components.serving.endpoints)
        assert "aws" not in doc["provider"] and "gcs" in doc["terraform"]["backend"]
