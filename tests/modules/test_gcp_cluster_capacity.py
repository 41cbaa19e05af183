"""GCP: what a real cluster and a real private endpoint need beyond the blueprint's pools (review s5,
findings 2, 7, 8, 11): an untainted system node pool, TPU pools in the zones that offer the TPU with Kueue
quota and tolerations for `google.com/tpu`, a Kueue controller that tolerates AKS's CriticalAddonsOnly
system pool, and private Vertex AI endpoints whose PSC endpoint Vertex AI creates in the platform network.
Synthesized from the gcp-vision reference (TPU v5e + L4, private endpoints) and the retargeted starter."""

from __future__ import annotations

import json

import pytest
import yaml

from mlops_blueprint.blueprints import BlueprintError, cost, load
from mlops_blueprint.policies.tfjson import Doc
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.gcp.names import GcpNames, NameRuleError
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import MINIMAL, ROOT
from tests.modules.conftest import one, resources

VISION = ROOT / "blueprints/reference/gcp-vision.yaml"
GCP = MINIMAL.replace(
    "target: {cloud: aws, region: eu-central-1}", "target: {cloud: gcp, region: europe-west4, project_id: acme-ml-dev}"
).replace("accelerator: nvidia-a10g", "accelerator: nvidia-l4")


@pytest.fixture(scope="module")
def vision(tmp_path_factory):
    """gcp-vision synthesized: {env: {"cloud": cdk.tf.json, "cluster": cdk.tf.json}}."""
    lb = load(VISION)
    out = tmp_path_factory.mktemp("vision")
    return {
        r.env: {"cloud": json.loads(r.json_path.read_text()), "cluster": json.loads(r.cluster.json_path.read_text())}
        for r in synth(lb, lb.select(None), out, DeploySettings())
    }


def pools(doc: dict) -> dict[str, dict]:
    return {b["name"]: b for b in resources(doc, "google_container_node_pool").values()}


def manifests(doc: dict, kind: str) -> dict[str, dict]:
    found = [v["manifest"] for v in resources(doc, "kubernetes_manifest").values() if v["manifest"]["kind"] == kind]
    return {m["metadata"]["name"]: m for m in found}


# -- finding 2: an untainted system pool (GKE) and a Kueue controller that tolerates CriticalAddonsOnly (AKS) --


def test_gke_has_one_untainted_system_pool_configured_like_the_accelerator_pools(gcp_starter, vision):
    for doc in (gcp_starter["dev"], vision["prod"]["cloud"]):
        by_name = pools(doc)
        untainted = [n for n, b in by_name.items() if not b["node_config"].get("taint")]
        [(cluster_id, cluster)] = resources(doc, "google_container_cluster").items()
        system = by_name[cluster["name"].removesuffix("-training") + "-system"]
        assert untainted == [system["name"]]
        assert system["autoscaling"] == {
            "total_min_node_count": 1,
            "total_max_node_count": 3,
            "location_policy": "BALANCED",
        }
        nc = system["node_config"]
        assert nc["machine_type"] == "e2-standard-4" and nc["labels"] == {"mlops.io/plane": "system"}
        assert "guest_accelerator" not in nc and nc.get("spot") in (None, False)
        for name, gpu in by_name.items():
            if name == system["name"]:
                continue
            g = gpu["node_config"]
            for same in (
                "service_account",
                "boot_disk_kms_key",
                "oauth_scopes",
                "workload_metadata_config",
                "shielded_instance_config",
                "metadata",
            ):
                assert nc[same] == g[same], (name, same)
            assert g["taint"][0]["effect"] == "NO_SCHEDULE"
        assert nc["workload_metadata_config"] == {"mode": "GKE_METADATA"}
        assert nc["shielded_instance_config"] == {"enable_secure_boot": True, "enable_integrity_monitoring": True}
        assert nc["boot_disk_kms_key"].startswith("${google_kms_crypto_key.baseline_key-ml_")
        assert system["cluster"] == f"${{google_container_cluster.{cluster_id}.id}}"


def test_a_training_pool_may_not_take_the_system_pools_name(write):
    path = write(GCP.replace("      gpu: {accelerator", "      system: {accelerator"))
    with pytest.raises(BlueprintError) as exc:
        load(path)
    [p] = exc.value.problems
    assert (p.line, p.path) == (9, "components.training.pools.system")
    assert str(p).startswith(f"{path}:9:7")
    assert "taken by the platform's system node pool" in p.message and "may not be named 'system'" in p.message
    with pytest.raises(NameRuleError):
        GcpNames("demo", "dev").gke_pool("system")
    assert GcpNames("demo", "dev").gke_pool("gpu") == "demo-dev-gpu"


def test_the_estimate_counts_the_system_pool(vision):
    lb = load(VISION)
    est = cost.estimate_env(lb.envs["dev"])
    [vm] = [ln for ln in est.lines if ln.item.startswith("GKE system node pool (")]
    [disk] = [ln for ln in est.lines if ln.item.startswith("GKE system node pool boot disk")]
    assert (vm.component, vm.unit_price, vm.min_quantity) == ("training", 0.134, 730)
    assert (disk.unit_price, disk.min_quantity) == (0.1, 50)
    without = (
        load(VISION)
        .envs["dev"]
        .blueprint.model_copy(
            update={"components": load(VISION).envs["dev"].blueprint.components.model_copy(update={"training": None})}
        )
    )
    assert not [ln for ln in cost.estimate(without, "dev").lines if "system node pool" in ln.item]


@pytest.mark.parametrize("stack", ["vision", "azure"])
def test_the_kueue_controller_tolerates_the_aks_system_pool_taint(vision, tmp_path, stack):
    if stack == "vision":
        doc = vision["dev"]["cluster"]
    else:
        lb = load(ROOT / "blueprints/reference/azure-claims.yaml")
        [r] = synth(lb, lb.select("dev"), tmp_path, DeploySettings())
        doc = json.loads(r.cluster.json_path.read_text())
    [kueue] = [r for r in resources(doc, "helm_release").values() if r["chart"] == "kueue"]
    values = yaml.safe_load(kueue["values"][0])
    # chart kueue 0.19.2 values.yaml: controllerManager.tolerations, rendered into the manager Deployment
    assert values["controllerManager"]["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]


# -- finding 7: TPU pools in TPU zones, Kueue quota and toleration for google.com/tpu ---------------------


def test_the_tpu_pool_is_placed_in_the_zones_that_offer_tpu_v5e(vision):
    by_name = pools(vision["prod"]["cloud"])
    tpu, gpu = by_name["vision-prod-tpu-train"], by_name["vision-prod-gpu-tune"]
    assert tpu["node_locations"] == ["us-central1-a"]
    assert tpu["node_config"]["taint"] == [{"key": "google.com/tpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert tpu["node_config"]["machine_type"] == "ct5lp-hightpu-4t"
    # GPU pools keep the network's zones (the first N zones that are UP)
    assert gpu["node_locations"] != tpu["node_locations"] and "data.google_compute_zones" in json.dumps(
        gpu["node_locations"]
    )
    assert gpu["node_config"]["taint"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]


def test_kueue_gives_a_tpu_pool_quota_and_a_toleration_for_google_com_tpu(vision):
    doc = vision["prod"]["cluster"]
    queues, flavors = manifests(doc, "ClusterQueue"), manifests(doc, "ResourceFlavor")
    tpu_q, gpu_q = queues["vision-prod-tpu-train"], queues["vision-prod-gpu-tune"]
    [group] = tpu_q["spec"]["resourceGroups"]
    assert group["coveredResources"] == ["cpu", "memory", "google.com/tpu"]
    assert {r["name"]: r["nominalQuota"] for r in group["flavors"][0]["resources"]}["google.com/tpu"] == "16"  # 4 x 4
    assert gpu_q["spec"]["resourceGroups"][0]["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    assert flavors["vision-prod-tpu-train"]["spec"]["tolerations"] == [
        {"key": "google.com/tpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert flavors["vision-prod-gpu-tune"]["spec"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    # the flavor's toleration matches the taint the cloud stack puts on the pool's nodes
    cloud = pools(vision["prod"]["cloud"])["vision-prod-tpu-train"]["node_config"]["taint"][0]
    assert flavors["vision-prod-tpu-train"]["spec"]["tolerations"][0]["key"] == cloud["key"]


def test_a_tpu_pool_in_a_region_without_tpu_zones_is_refused_at_its_line(write):
    text = GCP.replace("region: europe-west4", "region: us-east1").replace(
        "gpu: {accelerator: nvidia-l4, max_nodes: 2}",
        "gpu: {accelerator: google-tpu-v5e, gpus_per_node: 4, max_nodes: 2}",
    )
    path = write(text)
    with pytest.raises(BlueprintError) as exc:
        load(path)
    [p] = exc.value.problems
    assert (p.line, p.path) == (9, "components.training.pools.gpu.accelerator")
    assert str(p).startswith(f"{path}:9:")
    assert "not offered in gcp region us-east1; regions that have it: us-central1, us-west1, europe-west4" in p.message
    ok = load(write(text.replace("region: us-east1", "region: us-west1"), name="ok.yaml"))
    assert ok.envs["dev"].blueprint.target.region == "us-west1"


# -- finding 8: private endpoints get their PSC endpoint ----------------------------------------------------


def test_private_endpoints_have_vertex_create_their_psc_endpoint_in_the_platform_network(vision):
    doc = vision["prod"]["cloud"]
    [(policy_id, policy)] = resources(doc, "google_network_connectivity_service_connection_policy").items()
    [(net_id, _)] = resources(doc, "google_compute_network").items()
    [(subnet_id, _)] = resources(doc, "google_compute_subnetwork").items()
    assert policy["service_class"] == "gcp-vertexai" and policy["location"] == "us-central1"
    assert policy["network"] == f"${{google_compute_network.{net_id}.id}}"
    assert policy["psc_config"] == {"subnetworks": [f"${{google_compute_subnetwork.{subnet_id}.id}}"]}
    one(doc, "google_project_service", service="networkconnectivity.googleapis.com")
    endpoints = resources(doc, "google_vertex_ai_endpoint")
    assert len(endpoints) == 2
    for ep in endpoints.values():
        psc = ep["private_service_connect_config"]
        assert psc["enable_private_service_connect"] is True
        assert psc["psc_automation_configs"] == [
            {"project_id": "acme-vision-prod", "network": f"${{google_compute_network.{net_id}.id}}"}
        ]
        assert f"google_network_connectivity_service_connection_policy.{policy_id}" in ep["depends_on"]


def test_public_endpoints_need_no_service_connection_policy(write, tmp_path):
    lb = load(write(GCP.replace("api: {model: m1}", "api: {model: m1, private: false}")))
    [r] = synth(lb, lb.select("dev"), tmp_path / "out", DeploySettings())
    doc = json.loads(r.json_path.read_text())
    assert resources(doc, "google_network_connectivity_service_connection_policy") == {}
    [ep] = resources(doc, "google_vertex_ai_endpoint").values()
    assert "private_service_connect_config" not in ep


# -- the accelerator-pool rules skip the system pool only -----------------------------------------------------


def test_accelerator_pool_rules_skip_the_system_pool_but_not_a_gpu_pool_labelled_system(vision):
    from mlops_blueprint.policies.rules.gcp.r011_accelerator_pools_are_tainted import check as tainted
    from mlops_blueprint.policies.rules.gcp.r013_accelerator_pools_scale_to_zero_outside_prod import check as to_zero
    from mlops_blueprint.policies.rules.gcp.r020_every_endpoint_and_pool_has_an_alert import check as alerted

    doc = json.loads(json.dumps(vision["dev"]["cloud"]))
    for rule in (tainted, to_zero, alerted):
        results = [(a, ok) for a, ok, _ in rule(Doc(doc)) if a.startswith("google_container_node_pool.")]
        assert len(results) == 2 and all(ok for _, ok in results), (rule.__module__, results)
    # a GPU pool that carries the system label is still an accelerator pool
    gpu = next(b for b in resources(doc, "google_container_node_pool").values() if b["name"] == "vision-dev-gpu-tune")
    gpu["node_config"]["labels"] = {"mlops.io/plane": "system"}
    gpu["node_config"]["taint"] = []
    gpu["autoscaling"]["total_min_node_count"] = 1
    for rule in (tainted, to_zero, alerted):
        failed = [a for a, ok, _ in rule(Doc(doc)) if not ok]
        assert len(failed) == 1, (rule.__module__, failed)
