"""GPU pools that really run GPU jobs, per cloud: the cloud stack's compute and persona access, and the
cluster stack's pool objects (AWS NodePools, Kueue on every cloud, drivers / device plugin).

Each blueprint is synthesized once per module (cloud stack and cluster stack of every environment).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.modules.k8s_common import CPU_PER_GPU, KUEUE_VERSION, MEMORY_PER_GPU_GI
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT
from tests.modules.conftest import one, resources, retarget

REFERENCES = ROOT / "blueprints" / "reference"
EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"


def _synth(path: Path, out: Path) -> dict[str, tuple[dict, dict | None]]:
    """env -> (cloud stack document, cluster stack document or None)."""
    lb = load(path)
    docs = {}
    for r in synth(lb, lb.select(None), out, DeploySettings()):
        cluster = json.loads(r.cluster.json_path.read_text()) if r.cluster else None
        docs[r.env] = (json.loads(r.json_path.read_text()), cluster)
    return docs


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    return _synth(REFERENCES / "starter.yaml", tmp_path_factory.mktemp("aws"))


@pytest.fixture(scope="module")
def gcp(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gcp")
    path = folder / "starter-gcp.yaml"
    path.write_text(retarget((REFERENCES / "starter.yaml").read_text()))
    return _synth(path, folder / "out")


@pytest.fixture(scope="module")
def azure(tmp_path_factory):
    return _synth(REFERENCES / "azure-claims.yaml", tmp_path_factory.mktemp("azure"))


def manifests(doc: dict, kind: str) -> list[dict]:
    return [b["manifest"] for b in resources(doc, "kubernetes_manifest").values() if b["manifest"]["kind"] == kind]


def release(doc: dict, chart: str) -> dict:
    return one(doc, "helm_release", chart=chart)


# -- AWS: Auto Mode + NodePools ------------------------------------------------------------------------------


def test_aws_cluster_runs_auto_mode_with_system_capacity_and_no_node_groups(aws):
    cloud, _ = aws["dev"]
    assert resources(cloud, "aws_eks_node_group") == {}
    c = one(cloud, "aws_eks_cluster", name="starter-dev-training")
    assert c["compute_config"]["enabled"] is True
    assert c["compute_config"]["node_pools"] == ["general-purpose", "system"]
    assert re.fullmatch(r"\$\{aws_iam_role\.training_node-role_\w+\.arn\}", c["compute_config"]["node_role_arn"])
    assert c["storage_config"] == {"block_storage": {"enabled": True}}
    assert c["kubernetes_network_config"] == {"elastic_load_balancing": {"enabled": True}}
    assert c["bootstrap_self_managed_addons"] is False
    assert c["access_config"]["authentication_mode"] == "API"
    trust = json.loads(one(cloud, "aws_iam_role", name="starter-dev-eks-cluster")["assume_role_policy"])
    assert set(trust["Statement"][0]["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    attached = {a["policy_arn"].rsplit("/", 1)[-1] for a in resources(cloud, "aws_iam_role_policy_attachment").values()}
    assert {"AmazonEKSComputePolicy", "AmazonEKSBlockStoragePolicy", "AmazonEKSLoadBalancingPolicy"} <= attached
    assert {"AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryPullOnly"} <= attached
    assert "AL2_x86_64_GPU" not in json.dumps(cloud)


def test_aws_node_pool_per_pool_with_taint_capacity_type_instance_and_gpu_limit(aws):
    for env, limit in (("dev", "1"), ("prod", "4")):  # max_nodes (dev override 1, prod 4) x 1 GPU per node
        _, cluster = aws[env]
        [pool] = manifests(cluster, "NodePool")
        assert pool["apiVersion"] == "karpenter.sh/v1" and pool["metadata"]["name"] == "gpu-a"
        spec = pool["spec"]["template"]["spec"]
        assert pool["spec"]["template"]["metadata"]["labels"] == {
            "mlops.io/pool": "gpu-a",
            "mlops.io/accelerator": "nvidia-l4",
        }
        assert spec["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
        # the pool's disk_gb (200 when omitted) through its NodeClass (tests/modules/test_aws_node_classes.py)
        assert spec["nodeClassRef"] == {"group": "eks.amazonaws.com", "kind": "NodeClass", "name": "gpu-disk-200gi"}
        req = {r["key"]: r["values"] for r in spec["requirements"]}
        assert req["node.kubernetes.io/instance-type"] == ["g6.xlarge"]
        assert req["karpenter.sh/capacity-type"] == ["spot"]  # spot: true
        assert pool["spec"]["limits"] == {"nvidia.com/gpu": limit}
        assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmpty"


def test_aws_on_demand_pool_and_multi_gpu_limit(tmp_path):
    text = (REFERENCES / "starter.yaml").read_text()
    text = text.replace(
        "gpu-a: {accelerator: nvidia-l4, gpus_per_node: 1, min_nodes: 0, max_nodes: 4, spot: true}",
        "gpu-a: {accelerator: nvidia-a100, gpus_per_node: 8, min_nodes: 0, max_nodes: 3}",
    )
    path = tmp_path / "starter-a100.yaml"
    path.write_text(text)
    _, cluster = _synth(path, tmp_path / "out")["prod"]
    [pool] = manifests(cluster, "NodePool")
    req = {r["key"]: r["values"] for r in pool["spec"]["template"]["spec"]["requirements"]}
    assert req["karpenter.sh/capacity-type"] == ["on-demand"]
    assert req["node.kubernetes.io/instance-type"] == ["p4d.24xlarge"]
    assert pool["spec"]["limits"] == {"nvidia.com/gpu": "24"}


def test_aws_access_entries_edit_the_training_namespace_only_for_personas_that_train(aws):
    cloud, _ = aws["dev"]
    entries = resources(cloud, "aws_eks_access_entry")
    principals = sorted(e["principal_arn"] for e in entries.values())
    assert len(principals) == 2
    assert all(
        re.fullmatch(r"\$\{aws_iam_role\.baseline_role-(data_scientists|ml_engineers)_\w+\.arn\}", p)
        for p in principals
    ), principals
    assert all(e["type"] == "STANDARD" for e in entries.values())
    assocs = resources(cloud, "aws_eks_access_policy_association").values()
    assert len(assocs) == 2
    for a in assocs:
        assert a["policy_arn"] == EDIT
        assert a["access_scope"] == {"type": "namespace", "namespaces": ["mlops-training"]}
    assert "app_consumers" not in json.dumps(entries)


# -- Kueue on every cloud ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_kueue_queue_per_pool_with_its_gpu_quota(cloud, request):
    docs = request.getfixturevalue(cloud)
    env = "prod"
    _, cluster = docs[env]
    kueue = release(cluster, "kueue")
    assert kueue["version"] == KUEUE_VERSION and kueue["namespace"] == "kueue-system"
    flavors = {f["metadata"]["labels"]["mlops.io/pool"]: f for f in manifests(cluster, "ResourceFlavor")}
    queues = {q["metadata"]["labels"]["mlops.io/pool"]: q for q in manifests(cluster, "ClusterQueue")}
    locals_ = {q["metadata"]["name"]: q for q in manifests(cluster, "LocalQueue")}
    lb = load(REFERENCES / ("azure-claims.yaml" if cloud == "azure" else "starter.yaml"))
    pools = lb.select(env)[0].blueprint.components.training.pools
    assert set(flavors) == set(queues) == set(locals_) == set(pools)
    for name, pool in pools.items():
        gpus = pool.max_nodes * pool.gpus_per_node
        assert flavors[name]["spec"]["nodeLabels"] == {"mlops.io/pool": name}
        assert flavors[name]["spec"]["tolerations"] == [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
        res = {
            r["name"]: r["nominalQuota"] for r in queues[name]["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
        }
        if pool.sharing.mode == "none":
            assert res["nvidia.com/gpu"] == str(gpus)
        assert res["cpu"] == str(gpus * CPU_PER_GPU) and res["memory"] == f"{gpus * MEMORY_PER_GPU_GI}Gi"
        assert locals_[name]["spec"]["clusterQueue"] == queues[name]["metadata"]["name"]
        ns = locals_[name]["metadata"]["namespace"]
        assert queues[name]["spec"]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": ns}}
    assert one(cluster, "kubernetes_service_account_v1")["metadata"]["name"] == "trainer"


# -- GCP ------------------------------------------------------------------------------------------------------


def test_gcp_node_pools_scale_from_zero_with_drivers(gcp):
    cloud, _ = gcp["dev"]
    [np] = [p for p in resources(cloud, "google_container_node_pool").values() if p["node_config"].get("taint")]
    assert np["autoscaling"]["total_min_node_count"] == 0 and np["initial_node_count"] == 0
    [acc] = np["node_config"]["guest_accelerator"]
    assert acc["gpu_driver_installation_config"] == {"gpu_driver_version": "LATEST"}
    assert np["node_config"]["taint"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert np["node_config"]["labels"]["mlops.io/pool"] == "gpu-a"
    [gke] = resources(cloud, "google_container_cluster").values()
    assert gke["monitoring_config"]["enable_components"] == ["SYSTEM_COMPONENTS", "DCGM"]
    assert gke["monitoring_config"]["managed_prometheus"]["enabled"] is True


def test_gcp_personas_get_cluster_viewer_and_a_role_binding_in_the_training_namespace(gcp):
    cloud, cluster = gcp["dev"]
    viewers = [
        m
        for m in resources(cloud, "google_project_iam_member").values()
        if m["role"] == "roles/container.clusterViewer"
    ]
    assert len(viewers) == 2
    bindings = resources(cluster, "kubernetes_role_binding_v1").values()
    subjects = sorted(s["name"] for b in bindings for s in b["subject"])
    assert len(subjects) == 2 and all(s.endswith("@acme-ml-platform.iam.gserviceaccount.com") for s in subjects)
    assert all(b["metadata"]["namespace"] == "mlops-training" for b in bindings)
    assert all(s["kind"] == "User" for b in bindings for s in b["subject"])
    roles = resources(cluster, "kubernetes_role_v1").values()
    assert all("*" not in json.dumps(r["rule"]) for r in roles) and len(roles) == 2
    sa = one(cluster, "kubernetes_service_account_v1")
    assert sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"].startswith("starter-dev-trainer@")


# -- Azure ----------------------------------------------------------------------------------------------------


def test_azure_gpu_pools_install_the_driver_and_the_cluster_stack_the_device_plugin(azure):
    cloud, cluster = azure["dev"]
    pools = resources(cloud, "azurerm_kubernetes_cluster_node_pool").values()
    assert pools and all(p["gpu_driver"] == "Install" and p["min_count"] == 0 for p in pools)
    plugin = release(cluster, "nvidia-device-plugin")
    assert plugin["version"] == "0.20.0" and plugin["repository"] == "https://nvidia.github.io/k8s-device-plugin"
    assert "mlops.io/accelerator" in plugin["values"][0] and "nvidia.com/gpu" in plugin["values"][0]
    # personas: Azure RBAC for Kubernetes, scoped to the namespace, in the cloud stack; no RoleBinding inside
    writers = [
        a
        for a in resources(cloud, "azurerm_role_assignment").values()
        if a.get("role_definition_name") == "Azure Kubernetes Service RBAC Writer"
    ]
    assert writers and all(a["scope"].endswith("/namespaces/training") for a in writers)
    assert resources(cluster, "kubernetes_role_binding_v1") == {}
    sa = one(cluster, "kubernetes_service_account_v1")
    assert "azure.workload.identity/client-id" in sa["metadata"]["annotations"]


def test_azure_cluster_stack_exports_the_gpu_metric_the_pool_alert_reads(azure):
    """AKS exports no GPU metrics by itself: the DCGM exporter runs on the GPU pools, and managed Prometheus
    scrapes it through its own PodMonitor kind, with the node name in the label the alert joins on."""
    from mlops_blueprint.modules.monitoring.azure import GPU_METRIC, gpu_expression

    cloud, cluster = azure["dev"]
    exporter = release(cluster, "dcgm-exporter")
    assert (
        exporter["version"] == "4.8.3"
        and exporter["repository"] == "https://nvidia.github.io/dcgm-exporter/helm-charts"
    )
    values = exporter["values"][0]
    assert (
        "serviceMonitor:\n  enabled: false" in values
        and "mlops.io/accelerator" in values
        and "nvidia.com/gpu" in values
    )
    (monitor,) = manifests(cluster, "PodMonitor")
    assert monitor["apiVersion"] == "azmonitoring.coreos.com/v1"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics"
    assert endpoint["relabelings"] == [
        {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}
    ]
    assert GPU_METRIC == "DCGM_FI_DEV_GPU_UTIL" and "on(node)" in gpu_expression("gpu-a")
    assert cloud["resource"]["azurerm_kubernetes_cluster"]  # the cluster's managed Prometheus reads the monitor
    assert any("monitor_metrics" in c for c in cloud["resource"]["azurerm_kubernetes_cluster"].values())


# -- GPU sharing: the quota counts what the cluster advertises ------------------------------------------------


def test_mig_quota_matches_what_each_cloud_advertises(tmp_path):
    """GKE advertises each MIG partition as one `nvidia.com/gpu`; AKS (device plugin, mixed strategy) as
    `nvidia.com/mig-<profile>`. 2 nodes x 8 A100 x 2 instances of 3g.40gb = 32 either way."""
    mig = "{accelerator: nvidia-a100, gpus_per_node: 8, min_nodes: 0, max_nodes: 2, sharing: {mode: mig, profile: 3g.40gb}}"
    azure_text = (REFERENCES / "azure-claims.yaml").read_text()
    azure_text = azure_text.replace(
        "a100-train: {accelerator: nvidia-a100, gpus_per_node: 8, min_nodes: 0, max_nodes: 2}", f"a100-train: {mig}"
    )
    gcp_text = retarget((REFERENCES / "starter.yaml").read_text()).replace(
        "gpu-a: {accelerator: nvidia-l4, gpus_per_node: 1, min_nodes: 0, max_nodes: 4, spot: true}", f"gpu-a: {mig}"
    )
    (tmp_path / "azure.yaml").write_text(azure_text)
    (tmp_path / "gcp.yaml").write_text(gcp_text)
    for name, pool, resource in (
        ("azure", "a100-train", "nvidia.com/mig-3g.40gb"),
        ("gcp", "gpu-a", "nvidia.com/gpu"),
    ):
        _, cluster = _synth(tmp_path / f"{name}.yaml", tmp_path / f"out-{name}")["prod"]
        [cq] = [q for q in manifests(cluster, "ClusterQueue") if q["metadata"]["labels"]["mlops.io/pool"] == pool]
        quota = {r["name"]: r["nominalQuota"] for r in cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"]}
        assert quota[resource] == "32", (name, quota)
        if name == "azure":
            assert "migStrategy: mixed" in release(cluster, "nvidia-device-plugin")["values"][0]
