"""Synth tests of the on-prem workload constructs (training, serving, monitoring) on the real
OnpremBaseline (and OnpremRegistry), asserted by resources and their properties."""

import json

import jsonschema
import pytest
import yaml
from cdktn import TerraformStack
from cdktn import Testing as CdkTesting
from cdktn_provider_helm.provider import HelmProvider
from cdktn_provider_kubernetes.provider import KubernetesProvider

from mlops_blueprint.blueprints import load
from mlops_blueprint.modules.baseline.onprem import BaselineProps, OnpremBaseline
from mlops_blueprint.modules.monitoring.onprem import MonitoringProps, OnpremMonitoring
from mlops_blueprint.modules.onprem_common import CHARTS
from mlops_blueprint.modules.serving.onprem import OnpremServing, ServingProps
from mlops_blueprint.modules.training.onprem import OnpremTraining, TrainingProps
from mlops_blueprint.stacks.onprem.catalog import SIZES
from mlops_blueprint.stacks.onprem.names import OnpremNames
from tests.conftest import ROOT

BLUEPRINT = ROOT / "blueprints/reference/onprem-research.yaml"


class FakeRegistry:
    """Stands in for OnpremRegistry until modules/registry/onprem.py exists (same interface)."""

    def __init__(self, models):
        self.models = {m: m for m in models}
        self.registry_host = "registry.example.internal"
        self.pulls = []

    def image_uri(self, model, tag):
        return f"{self.registry_host}/models/{model}:{tag}"

    def grant_pull(self, principal, *, id):
        self.pulls.append((principal, id))


def make_registry(stack, n, c, b):
    try:
        from mlops_blueprint.modules.registry.onprem import OnpremRegistry, RegistryProps
    except ImportError:
        return FakeRegistry(c.registry.models)
    return OnpremRegistry(stack, "registry", props=RegistryProps(naming=n, spec=c.registry, baseline=b, protect=False))


def build(env_name: str = "prod", mutate=None):
    lb = load(BLUEPRINT)
    env = lb.envs[env_name]
    bp = env.blueprint
    if mutate:
        bp = mutate(bp)
    c = bp.components
    n = OnpremNames(bp.metadata.name, env.name)
    stack = TerraformStack(CdkTesting.app(), "onprem-workloads")
    KubernetesProvider(stack, "kubernetes", config_context=bp.target.kube_context)
    HelmProvider(stack, "helm", kubernetes={"config_context": bp.target.kube_context})
    b = OnpremBaseline(
        stack,
        "baseline",
        props=BaselineProps(
            naming=n,
            spec=bp.baseline,
            target=bp.target,
            notify=tuple(c.monitoring.notify),
            labels={"mlops.io/environment": env.name},
            protect=False,
        ),
    )
    training = OnpremTraining(
        stack, "training", props=TrainingProps(naming=n, spec=c.training, baseline=b, protect=False)
    )
    registry = make_registry(stack, n, c, b)
    serving = OnpremServing(
        stack, "serving", props=ServingProps(naming=n, spec=c.serving, baseline=b, registry=registry, protect=False)
    )
    capacity = {k: ep.max_replicas * ep.target_invocations_per_replica for k, ep in c.serving.endpoints.items()}
    OnpremMonitoring(
        stack,
        "monitoring",
        props=MonitoringProps(
            naming=n, spec=c.monitoring, baseline=b, serving=serving, training=training, serving_capacity=capacity
        ),
    )
    training.grant_submit(b.personas["data_scientists"], id="data_scientists-training")
    serving.grant_invoke(b.personas["app_consumers"], id="app_consumers-serving")
    serving.grant_deploy(b.personas["ml_engineers"], id="ml_engineers-serving")
    return bp, n, json.loads(CdkTesting.synth(stack))


@pytest.fixture(scope="module")
def synth():
    return build()


def res(doc, rtype):
    return doc.get("resource", {}).get(rtype, {})


def manifests(doc, kind):
    return [r["manifest"] for r in res(doc, "kubernetes_manifest").values() if r["manifest"]["kind"] == kind]


def releases(doc):
    return {r["chart"]: r for r in res(doc, "helm_release").values()}


def values(rel):
    return yaml.safe_load(rel["values"][0])


def meta(r):
    m = r["metadata"]
    return m[0] if isinstance(m, list) else m


# -- training ---------------------------------------------------------------------------------------------


def test_resource_flavors_select_the_accelerator_nodes_and_tolerate_gpus(synth):
    bp, n, doc = synth
    flavors = {f["metadata"]["name"]: f for f in manifests(doc, "ResourceFlavor")}
    assert set(flavors) == {n.flavor("a100"), n.flavor("t4")}
    for pool, spec in bp.components.training.pools.items():
        f = flavors[n.flavor(pool)]
        assert f["apiVersion"] == "kueue.x-k8s.io/v1beta2"
        assert f["spec"]["nodeLabels"] == bp.target.gpu_node_labels[spec.accelerator]
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in f["spec"]["tolerations"]


def test_cluster_queues_carry_the_gpu_quota_of_each_sharing_mode(synth):
    bp, n, doc = synth
    cqs = {q["metadata"]["name"]: q for q in manifests(doc, "ClusterQueue")}
    assert set(cqs) == {n.cluster_queue("a100"), n.cluster_queue("t4")}

    def quota(pool):
        group = cqs[n.cluster_queue(pool)]["spec"]["resourceGroups"][0]
        (flavor,) = group["flavors"]
        assert flavor["name"] == n.flavor(pool)
        got = {r["name"]: r["nominalQuota"] for r in flavor["resources"]}
        assert set(group["coveredResources"]) == set(got)
        return got

    a100, t4 = quota("a100"), quota("t4")
    assert a100["nvidia.com/mig-3g.40gb"] == str(4 * 8 * 2) and "nvidia.com/gpu" not in a100
    assert t4["nvidia.com/gpu"] == str(6 * 4 * 4)
    for q in cqs.values():
        assert q["spec"]["namespaceSelector"] == {
            "matchLabels": {"kubernetes.io/metadata.name": n.namespace("training")}
        }


def test_one_local_queue_per_pool_in_the_training_namespace(synth):
    _, n, doc = synth
    lqs = {q["metadata"]["name"]: q for q in manifests(doc, "LocalQueue")}
    assert set(lqs) == {"a100", "t4"}
    for pool, q in lqs.items():
        assert q["metadata"]["namespace"] == n.namespace("training")
        assert q["spec"]["clusterQueue"] == n.cluster_queue(pool)


def test_gpu_operator_values_carry_time_slicing_and_mig(synth):
    _, n, doc = synth
    rel = releases(doc)["gpu-operator"]
    v = values(rel)
    assert v["mig"]["strategy"] == "mixed"
    plugin = v["devicePlugin"]["config"]
    assert plugin["create"] is True and plugin["default"] == "default"
    t4 = yaml.safe_load(plugin["data"]["t4"])
    assert t4["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    assert t4["flags"]["migStrategy"] == "mixed"
    mig = yaml.safe_load(v["migManager"]["config"]["data"]["config.yaml"])
    assert mig["mig-configs"]["all-3g.40gb"] == [{"devices": "all", "mig-enabled": True, "mig-devices": {"3g.40gb": 2}}]
    assert v["dcgmExporter"]["enabled"] is True and v["dcgmExporter"]["serviceMonitor"]["enabled"] is True
    assert v["operator"]["version"] == v["validator"]["version"] == CHARTS["gpu-operator"].version
    # The operator's namespace is the one privileged namespace.
    ns = [r for r in res(doc, "kubernetes_namespace_v1").values() if meta(r)["name"] == rel["namespace"]]
    assert meta(ns[0])["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_grant_submit_is_exact_and_namespaced(synth):
    _, n, doc = synth
    (role,) = [r for r in res(doc, "kubernetes_role_v1").values() if meta(r)["name"] == "data-scientists-training"]
    assert meta(role)["namespace"] == n.namespace("training")
    rules = {(tuple(r["api_groups"]), tuple(r["resources"])): r["verbs"] for r in role["rule"]}
    assert rules == {
        (("batch",), ("jobs",)): ["create", "get", "list", "watch", "delete"],
        (("",), ("pods", "pods/log")): ["get", "list"],
        (("kueue.x-k8s.io",), ("workloads",)): ["get", "list"],
    }
    for r in res(doc, "kubernetes_role_v1").values():
        for rule in r["rule"]:
            assert "*" not in rule["verbs"] and "*" not in rule["resources"]


def test_pool_without_node_label_is_refused():
    def drop_t4_label(bp):
        target = bp.target.model_copy(update={"gpu_node_labels": {"nvidia-a100": {"nvidia.com/gpu.product": "x"}}})
        return bp.model_copy(update={"target": target})

    with pytest.raises(ValueError, match=r"pool 't4'.*no node label for nvidia-t4"):
        build(mutate=drop_t4_label)


# -- serving ----------------------------------------------------------------------------------------------


def test_one_inference_service_per_endpoint(synth):
    bp, n, doc = synth
    isvcs = {i["metadata"]["name"]: i for i in manifests(doc, "InferenceService")}
    eps = bp.components.serving.endpoints
    assert set(isvcs) == {n.inference_service(e) for e in eps}
    for name, ep in eps.items():
        i = isvcs[n.inference_service(name)]
        p = i["spec"]["predictor"]
        assert i["metadata"]["namespace"] == n.namespace("serving")
        assert i["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
        assert (p["minReplicas"], p["maxReplicas"]) == (ep.min_replicas, ep.max_replicas)
        (c,) = p["containers"]
        cpu, mem, gpus = SIZES[ep.size]
        want = {"cpu": cpu, "memory": mem, **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
        assert c["resources"] == {"requests": want, "limits": want}
        assert c["image"].endswith(f"{ep.model}:{ep.image_tag}")
        assert c["securityContext"]["runAsNonRoot"] is True
        assert ("logger" in p) == ep.capture_requests
        if ep.capture_requests:
            assert p["logger"]["mode"] == "all"
        visibility = i["metadata"]["labels"].get("networking.kserve.io/visibility")
        assert visibility == ("cluster-local" if ep.private else None)
    (variants,) = [
        r
        for r in res(doc, "kubernetes_manifest").values()
        if r["manifest"]["kind"] == "InferenceService" and r["manifest"]["metadata"]["name"] == "variants"
    ]
    assert "spec.predictor.canaryTrafficPercent" in variants["computed_fields"]


def test_serving_grants_are_exact(synth):
    _, n, doc = synth
    roles = {meta(r)["name"]: r for r in res(doc, "kubernetes_role_v1").values()}
    invoke, deploy = roles["app-consumers-serving"], roles["ml-engineers-serving"]
    assert invoke["rule"] == [
        {"api_groups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["get", "list"]}
    ]
    assert {
        "api_groups": ["serving.kserve.io"],
        "resources": ["inferenceservices"],
        "verbs": ["get", "list", "watch", "update", "patch"],
    } in deploy["rule"]
    nps = [
        meta(p)["name"]
        for p in res(doc, "kubernetes_network_policy_v1").values()
        if meta(p)["namespace"] == n.namespace("serving")
    ]
    assert "app-consumers-serving-network" in nps


# -- monitoring -------------------------------------------------------------------------------------------


def alerts(doc):
    return {r["alert"]: r for pr in manifests(doc, "PrometheusRule") for g in pr["spec"]["groups"] for r in g["rules"]}


def test_prometheus_rules_per_endpoint_and_pool_with_blueprint_thresholds(synth):
    bp, n, doc = synth
    a = bp.components.monitoring.alerts
    rules = alerts(doc)
    eps, pools = bp.components.serving.endpoints, bp.components.training.pools
    assert len(rules) == 3 * len(eps) + len(pools)
    for name, ep in eps.items():
        assert rules[f"{name}-latency-p99"]["expr"].endswith(f"> {a.latency_p99_ms}")
        assert "request_predict_seconds_bucket" in rules[f"{name}-latency-p99"]["expr"]
        assert rules[f"{name}-error-rate"]["expr"].endswith(f"> {a.error_rate}")
        assert 'status="5xx"' in rules[f"{name}-error-rate"]["expr"]
        assert rules[f"{name}-at-capacity"]["expr"].endswith(f"> {ep.max_replicas * ep.target_invocations_per_replica}")
    assert "DCGM_FI_DEV_GPU_UTIL" in rules["pool-t4-gpu-saturated"]["expr"]
    assert 'label_nvidia_com_gpu_product="Tesla-T4"' in rules["pool-t4-gpu-saturated"]["expr"]
    assert "DCGM_FI_PROF_GR_ENGINE_ACTIVE" in rules["pool-a100-gpu-saturated"]["expr"]
    for pool in pools:
        assert rules[f"pool-{pool}-gpu-saturated"]["expr"].endswith(f"> {a.gpu_utilization_pct}")


def test_alertmanager_emails_notify(synth):
    bp, _, doc = synth
    v = values(releases(doc)["kube-prometheus-stack"])
    cfg = v["alertmanager"]["config"]
    (email,) = [r for r in cfg["receivers"] if r["name"] == "email"]
    assert [e["to"] for e in email["email_configs"]] == list(bp.components.monitoring.notify)
    assert cfg["route"]["receiver"] == "email"
    assert cfg["global"]["smtp_require_tls"] is True and "smtp_auth_password" not in cfg["global"]
    assert v["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    assert v["nodeExporter"]["enabled"] is False


def test_dashboard_names_every_endpoint_and_pool(synth):
    bp, n, doc = synth
    (cm,) = [
        r for r in res(doc, "kubernetes_config_map_v1").values() if meta(r)["labels"].get("grafana_dashboard") == "1"
    ]
    (text,) = cm["data"].values()
    dash = json.loads(text)
    titles = [p["title"] for p in dash["panels"]]
    for name in bp.components.serving.endpoints:
        assert f"endpoint {name}" in titles and f"{name}: p99 latency (ms)" in titles
    for pool in bp.components.training.pools:
        assert f"pool {pool}" in titles and f"pool {pool}: GPU utilization %" in titles


# -- every release and image ------------------------------------------------------------------------------


def _strings(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
    elif isinstance(obj, str):
        yield obj


def test_every_release_is_pinned_and_no_image_is_latest(synth):
    _, _, doc = synth
    for rel in res(doc, "helm_release").values():
        c = CHARTS[[k for k, ch in CHARTS.items() if ch.chart == rel["chart"]][0]]
        assert rel["version"] == c.version and not any(ch in c.version for ch in "^~*x<> ")
    for s in _strings(doc.get("resource", {})):
        assert ":latest" not in s and not s.endswith("latest"), s
    kueue = values(releases(doc)["kueue"])["controllerManager"]["manager"]["image"]
    assert kueue["tag"] == "v" + CHARTS["kueue"].version


OURS = {"kueue", "gpu-operator", "cert-manager", "kserve-crd", "kserve-resources", "kube-prometheus-stack"}


def test_vendored_values_schemas_accept_the_values(synth):
    _, _, doc = synth
    assert CHARTS["cert-manager"].values_schema
    for rel in res(doc, "helm_release").values():
        if rel["chart"] not in OURS:  # other components' releases are theirs to test
            continue
        c = [ch for ch in CHARTS.values() if ch.chart == rel["chart"]][0]
        if c.values_schema:
            schema = json.loads((ROOT / c.values_schema).read_text())
            jsonschema.validate(values(rel), schema)


CRDS = ROOT / "tests/schemas/crds"


@pytest.mark.parametrize(
    "kind", ["ClusterQueue", "ResourceFlavor", "LocalQueue", "InferenceService", "PrometheusRule", "PodMonitor"]
)
def test_custom_resources_match_their_crd_schema(synth, kind):
    _, _, doc = synth
    objs = manifests(doc, kind)
    assert objs
    for obj in objs:
        group, version = obj["apiVersion"].split("/")
        path = CRDS / f"{group}_{kind}_{version}.json"
        if not path.exists():
            pytest.skip(f"no vendored schema {path.name}")
        schema = json.loads(path.read_text())
        # No metaschema check: CRD patterns use Go regex syntax (e.g. a mid-pattern `(?i)`).
        jsonschema.validators.validator_for(schema)(schema).validate(obj)
