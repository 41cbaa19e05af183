"""The on-prem glue (state bootstrap, rollout, verify): the MLflow half against a real MLflow server, the
Kubernetes half against a recording fake of the kubernetes client's APIs.

MLflow: `tests/emulators/mlflow.py` starts the installed `mlflow server` (SQLite store) on a loopback
port; the glue's MlflowClient calls go through MLflow's REST API into the same registry the platform's
in-cluster MLflow runs. What this proves: the registered model, its versions (one per image tag, with
the tag and the artifact source) and verify's read-back, as MLflow itself stores and answers them.

Kubernetes: the fake answers with real kubernetes client models (V1Namespace, V1NetworkPolicy, V1Role,
...) and custom objects as the API server returns them (dicts), raises real ApiExceptions, and records
every request in order, so the tests compare the exact requests (the InferenceService merge patch for a
10 % canary and for a promotion). What it does not prove: that KServe, Kueue and the API server act on
them (no Kubernetes API server runs in the tests).
"""

from __future__ import annotations

import copy
import json

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, ModelVersionTag
from mlflow.exceptions import MlflowException, RestException

from mlops_blueprint.blueprints import load, loads
from mlops_blueprint.scripts.glue import Check, RolloutError, Target
from mlops_blueprint.scripts.glue import onprem as glue
from mlops_blueprint.scripts.glue.onprem import (
    bootstrap_state_with,
    retag,
    rollout_with,
    verify_with,
)
from tests.conftest import ROOT
from tests.emulators import mlflow as mlflow_emulator

RESEARCH = ROOT / "blueprints/reference/onprem-research.yaml"
KSERVE = ("serving.kserve.io", "v1beta1")
KUEUE = ("kueue.x-k8s.io", "v1beta1")
SERVING = "research-dev-serving"
NAMESPACES = [
    "research-dev-data",
    "research-dev-training",
    "research-dev-registry",
    SERVING,
    "research-dev-monitoring",
    "research-dev-personas",
]
HARBOR = "harbor.research.example:8443/research-dev"
VARIANTS_IMAGE, COHORT_IMAGE = f"{HARBOR}/variant-caller:bootstrap", f"{HARBOR}/cohort-risk:bootstrap"
GPU_RESOURCES = {
    "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
    "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
}
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
VISIBILITY = "networking.kserve.io/visibility"
TARGET = Target(local=False, mirror=None)


@pytest.fixture(scope="module")
def dev():
    return load(RESEARCH).envs["dev"]


def research_named(name: str):
    """The reference blueprint under another metadata.name: its own MLflow registered models."""
    text = RESEARCH.read_text().replace("\n  name: research\n", f"\n  name: {name}\n", 1)
    return loads(text, f"onprem-{name}.yaml").envs["dev"]


# ------------------------------------------------------------------------------------- the fakes


def api_error(status: int, reason: str, message: str) -> ApiException:
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": message,
            "reason": reason.replace(" ", ""),
            "code": status,
        }
    )
    return exc


class Api:
    def __init__(self, fake, group):
        self.fake, self.group = fake, group

    def record(self, op, *args):
        self.fake.calls.append((f"{self.group}.{op}", args))


class Core(Api):
    def read_namespace(self, name):
        self.record("read_namespace", name)
        if name in self.fake.forbidden:
            raise self.fake.forbidden[name]
        if name not in self.fake.namespaces:
            raise api_error(404, "Not Found", f'namespaces "{name}" not found')
        return self.fake.namespaces[name]

    def create_namespace(self, body):
        self.record("create_namespace", body.to_dict())
        if self.fake.create_error:
            raise self.fake.create_error
        self.fake.namespaces[body.metadata.name] = body
        return body

    def list_namespaced_resource_quota(self, namespace):
        self.record("list_namespaced_resource_quota", namespace)
        return k8s.V1ResourceQuotaList(items=list(self.fake.quotas.get(namespace, [])))


class Networking(Api):
    def list_namespaced_network_policy(self, namespace):
        self.record("list_namespaced_network_policy", namespace)
        return k8s.V1NetworkPolicyList(items=list(self.fake.policies.get(namespace, [])))


class Rbac(Api):
    def list_namespaced_role(self, namespace):
        self.record("list_namespaced_role", namespace)
        if namespace in self.fake.forbidden:
            raise self.fake.forbidden[namespace]
        return k8s.V1RoleList(items=list(self.fake.roles.get(namespace, [])))


class Custom(Api):
    def get_cluster_custom_object(self, group, version, plural, name):
        self.record("get_cluster_custom_object", group, version, plural, name)
        if (plural, name) not in self.fake.cluster_objects:
            raise api_error(404, "Not Found", f'{plural}.{group} "{name}" not found')
        return copy.deepcopy(self.fake.cluster_objects[(plural, name)])

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        self.record("get_namespaced_custom_object", group, version, namespace, plural, name)
        if (namespace, plural, name) not in self.fake.objects:
            raise api_error(404, "Not Found", f'{plural}.{group} "{name}" not found')
        return copy.deepcopy(self.fake.objects[(namespace, plural, name)])

    def patch_namespaced_custom_object(self, group, version, namespace, plural, name, body):
        self.record("patch_namespaced_custom_object", group, version, namespace, plural, name, copy.deepcopy(body))
        return copy.deepcopy(self.fake.objects[(namespace, plural, name)])


class FakeMlflow(Api):
    """The MlflowClient calls the glue makes (for the Kubernetes-half tests; the MLflow half uses a real server)."""

    def __init__(self, fake, versions=None, exists=False):
        super().__init__(fake, "mlflow")
        self.versions = versions or {}  # registered model -> [ModelVersion]
        self.exists = exists
        self.error: Exception | None = None

    def create_registered_model(self, name, tags=None, description=None):
        self.record("create_registered_model", name, tags, description)
        if self.exists:
            raise RestException(
                {"error_code": "RESOURCE_ALREADY_EXISTS", "message": f"Registered Model (name={name}) already exists."}
            )

    def search_model_versions(self, filter_string):
        self.record("search_model_versions", filter_string)
        if self.error:
            raise self.error
        return list(self.versions.get(filter_string.split("'")[1], []))

    def create_model_version(self, name, source, tags=None):
        self.record("create_model_version", name, source, tags)
        return version(name, str(len(self.versions.get(name, [])) + 1), source, tags["image_tag"])


def version(name, number, source, image_tag):
    return ModelVersion(
        name=name, version=number, creation_timestamp=0, source=source, tags=[ModelVersionTag("image_tag", image_tag)]
    )


class FakeKube:
    """CoreV1Api, NetworkingV1Api, RbacAuthorizationV1Api, CustomObjectsApi (and, for the rollout tests,
    the MlflowClient) recording into one ordered list of calls."""

    def __init__(self):
        self.calls: list[tuple[str, tuple]] = []
        self.namespaces: dict[str, k8s.V1Namespace] = {}
        self.quotas: dict[str, list] = {}
        self.policies: dict[str, list] = {}
        self.roles: dict[str, list] = {}
        self.cluster_objects: dict[tuple[str, str], dict] = {}
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.forbidden: dict[str, ApiException] = {}
        self.create_error: ApiException | None = None
        self.core, self.networking = Core(self, "core"), Networking(self, "networking")
        self.rbac, self.custom = Rbac(self, "rbac"), Custom(self, "custom")
        self.mlflow = FakeMlflow(self)

    def names(self):
        return [c[0] for c in self.calls]

    def verify(self, env, mlflow_client=None):
        return verify_with(env, self.core, self.custom, self.rbac, self.networking, mlflow_client or self.mlflow)


def namespace(name, enforce="restricted"):
    labels = {"mlops.io/environment": "dev", **({PSA_ENFORCE: enforce} if enforce else {})}
    return k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name, labels=labels))


def quota(name="compute"):
    return k8s.V1ResourceQuota(
        metadata=k8s.V1ObjectMeta(name=name), spec=k8s.V1ResourceQuotaSpec(hard={"requests.cpu": "16", "pods": "50"})
    )


def policy(name, types, egress=None, selector=None):
    return k8s.V1NetworkPolicy(
        metadata=k8s.V1ObjectMeta(name=name),
        spec=k8s.V1NetworkPolicySpec(
            pod_selector=k8s.V1LabelSelector(match_labels=selector), policy_types=types, egress=egress
        ),
    )


ALLOW_DNS = policy(
    "allow-dns",
    ["Egress"],
    egress=[k8s.V1NetworkPolicyEgressRule(ports=[k8s.V1NetworkPolicyPort(port=53, protocol="UDP")])],
)


def role(name, verbs=("get", "list"), resources=("pods",)):
    return k8s.V1Role(
        metadata=k8s.V1ObjectMeta(name=name),
        rules=[k8s.V1PolicyRule(api_groups=[""], verbs=list(verbs), resources=list(resources))],
    )


def cluster_queue(name, resource, nominal):
    return {
        "apiVersion": "kueue.x-k8s.io/v1beta1",
        "kind": "ClusterQueue",
        "metadata": {"name": name},
        "spec": {
            "namespaceSelector": {},
            "resourceGroups": [
                {
                    "coveredResources": ["cpu", "memory", resource],
                    "flavors": [
                        {
                            "name": name,
                            "resources": [
                                {"name": "cpu", "nominalQuota": "256"},
                                {"name": "memory", "nominalQuota": "2Ti"},
                                {"name": resource, "nominalQuota": nominal},
                            ],
                        }
                    ],
                }
            ],
        },
    }


def inference_service(name, min_replicas, max_replicas, *, image=None, model_image=None, ready=True, mode=None):
    predictor = {
        "minReplicas": min_replicas,
        "maxReplicas": max_replicas,
        "logger": {"mode": "all", "url": f"http://capture.{SERVING}.svc.cluster.local"},
    }
    if image:
        predictor["containers"] = [
            {
                "name": "kserve-container",
                "image": image,
                "resources": GPU_RESOURCES,
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            }
        ]
    if model_image:
        predictor["model"] = {"modelFormat": {"name": "custom"}, "image": model_image}
    ready_condition = (
        {"type": "Ready", "status": "True"}
        if ready
        else {
            "type": "Ready",
            "status": "False",
            "reason": "RevisionMissing",
            "message": 'Revision "cohort-predictor-00002" failed with message: Back-off pulling image',
        }
    )
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": SERVING,
            "labels": {VISIBILITY: "cluster-local"},
            "annotations": {"serving.kserve.io/deploymentMode": mode} if mode else {},
        },
        "spec": {"predictor": predictor},
        "status": {
            "conditions": [ready_condition],
            "components": {
                "predictor": {
                    "traffic": [{"revisionName": f"{name}-predictor-00001", "percent": 100, "latestRevision": True}]
                }
            },
        },
    }


def healthy() -> FakeKube:
    """What the on-prem stack deploys for the reference's dev environment."""
    fake = FakeKube()
    for ns in NAMESPACES:
        fake.namespaces[ns] = namespace(ns)
        fake.quotas[ns] = [quota()]
        fake.policies[ns] = [policy("default-deny", ["Ingress", "Egress"]), ALLOW_DNS]
    fake.roles["research-dev-training"] = [role("submit-jobs", ["create", "get", "list", "watch", "delete"], ["jobs"])]
    fake.roles[SERVING] = [role("invoke", ["get"], ["inferenceservices"])]
    # dev: a100 max_nodes 1 x 8 GPUs x 2 3g.40gb slices; t4 6 nodes x 4 GPUs x 4 time-slices
    fake.cluster_objects[("clusterqueues", "research-dev-a100")] = cluster_queue(
        "research-dev-a100", "nvidia.com/mig-3g.40gb", 16
    )
    fake.cluster_objects[("clusterqueues", "research-dev-t4")] = cluster_queue(
        "research-dev-t4", "nvidia.com/gpu", "96"
    )
    fake.objects[(SERVING, "inferenceservices", "variants")] = inference_service("variants", 1, 3, image=VARIANTS_IMAGE)
    fake.objects[(SERVING, "inferenceservices", "cohort")] = inference_service("cohort", 1, 6, model_image=COHORT_IMAGE)
    return fake


# ------------------------------------------------------------------------------------ the blueprint


def test_the_reference_targets_an_onprem_cluster(dev):
    t = dev.blueprint.target
    assert (t.cloud, t.kube_context, t.kubernetes_version) == ("onprem", "research-dev", "1.35")
    assert glue.platform_namespaces(dev) == dict(
        zip(["data", "training", "registry", "serving", "monitoring", "personas"], NAMESPACES, strict=True)
    )


def test_gpu_quota_follows_the_pool_sharing(dev):
    """Verify reads the one GPU table (blueprints/neutral.py), as the cluster stack's ClusterQueues do."""
    from mlops_blueprint.blueprints.neutral import GpuQuota, gpu_quota

    pools = dev.blueprint.components.training.pools
    assert gpu_quota(pools["a100"]) == GpuQuota("nvidia.com/mig-3g.40gb", 16)  # 1 node x 8 GPUs x 2 slices (dev)
    assert gpu_quota(pools["t4"]) == GpuQuota("nvidia.com/gpu", 96)  # 6 nodes x 4 GPUs x 4 time-slices
    prod = load(RESEARCH).envs["prod"].blueprint.components.training.pools
    assert gpu_quota(prod["a100"]) == GpuQuota("nvidia.com/mig-3g.40gb", 64)
    assert glue.gpu_quota is gpu_quota  # the glue's quota is the table's, not a copy


@pytest.mark.parametrize(
    "image, new",
    [
        (f"{HARBOR}/variant-caller:bootstrap", f"{HARBOR}/variant-caller:v2.0"),
        (f"{HARBOR}/variant-caller", f"{HARBOR}/variant-caller:v2.0"),
        ("registry.local/m:v1@sha256:" + "a" * 64, "registry.local/m:v2.0"),
        ("m", "m:v2.0"),
    ],
)
def test_retag_keeps_the_repository_and_a_registry_port(image, new):
    assert retag(image, "v2.0") == new


# ------------------------------------------------------------------- rollout: the Kubernetes requests


def test_canary_registers_the_version_then_patches_image_and_canary_percent(dev):
    fake = healthy()
    result = rollout_with(dev, "variants", "v2.0", 10, fake.mlflow, fake.custom)
    get = ("custom.get_namespaced_custom_object", (*KSERVE, SERVING, "inferenceservices", "variants"))
    assert fake.calls == [
        get,
        (
            "mlflow.create_registered_model",
            (
                "research-dev-variant-caller",
                {"mlops.io/blueprint": "research", "mlops.io/environment": "dev"},
                "variant-caller (research, environment dev)",
            ),
        ),
        ("mlflow.search_model_versions", ("name='research-dev-variant-caller'",)),
        (
            "mlflow.create_model_version",
            (
                "research-dev-variant-caller",
                "s3://research-dev-model-artifacts/variant-caller/v2.0/",
                {"image_tag": "v2.0"},
            ),
        ),
        (
            "custom.patch_namespaced_custom_object",
            (
                *KSERVE,
                SERVING,
                "inferenceservices",
                "variants",
                {
                    "spec": {
                        "predictor": {
                            "containers": [
                                {
                                    "name": "kserve-container",
                                    "image": f"{HARBOR}/variant-caller:v2.0",
                                    "resources": GPU_RESOURCES,
                                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                                }
                            ],
                            "canaryTrafficPercent": 10,
                        }
                    }
                },
            ),
        ),
    ]
    assert result.endpoint == f"{SERVING}/variants" and result.version == "models:/research-dev-variant-caller/1"
    assert result.traffic == {"primary": 90, "canary": 10}
    assert result.steps == [
        "created registered model research-dev-variant-caller in MLflow",
        "registered research-dev-variant-caller version 1 (image tag v2.0, source "
        "s3://research-dev-model-artifacts/variant-caller/v2.0/)",
        f"patched InferenceService {SERVING}/variants: image {HARBOR}/variant-caller:v2.0, canaryTrafficPercent 10 "
        "(the last rolled-out revision keeps 90%)",
    ]


def test_promote_removes_the_canary_percent_so_the_new_revision_takes_everything(dev):
    fake = healthy()
    fake.objects[(SERVING, "inferenceservices", "variants")]["spec"]["predictor"]["canaryTrafficPercent"] = 10
    fake.mlflow.exists = True
    fake.mlflow.versions = {
        "research-dev-variant-caller": [
            version(
                "research-dev-variant-caller", "1", "s3://research-dev-model-artifacts/variant-caller/v2.0/", "v2.0"
            )
        ]
    }
    result = rollout_with(dev, "variants", "v3.0", 100, fake.mlflow, fake.custom)
    assert fake.names() == [
        "custom.get_namespaced_custom_object",
        "mlflow.create_registered_model",
        "mlflow.search_model_versions",
        "mlflow.create_model_version",
        "custom.patch_namespaced_custom_object",
    ]
    assert fake.calls[-1][1][-1] == {
        "spec": {
            "predictor": {
                "containers": [
                    {
                        "name": "kserve-container",
                        "image": f"{HARBOR}/variant-caller:v3.0",
                        "resources": GPU_RESOURCES,
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    }
                ],
                "canaryTrafficPercent": None,
            }
        }
    }
    assert result.traffic == {"primary": 100} and result.version == "models:/research-dev-variant-caller/2"
    assert result.steps[0].startswith("registered research-dev-variant-caller version 2")  # the model existed
    assert result.steps[-1] == (
        f"patched InferenceService {SERVING}/variants: image {HARBOR}/variant-caller:v3.0, "
        "promoted (canaryTrafficPercent removed: the new revision takes all traffic)"
    )


def test_a_model_predictor_gets_its_image_retagged_and_a_given_artifact_is_the_source(dev):
    fake = healthy()
    result = rollout_with(dev, "cohort", "r7", 25, fake.mlflow, fake.custom, artifact="s3://elsewhere/cohort/r7/")
    assert fake.calls[3] == (
        "mlflow.create_model_version",
        ("research-dev-cohort-risk", "s3://elsewhere/cohort/r7/", {"image_tag": "r7"}),
    )
    assert fake.calls[4] == (
        "custom.patch_namespaced_custom_object",
        (
            *KSERVE,
            SERVING,
            "inferenceservices",
            "cohort",
            {"spec": {"predictor": {"model": {"image": f"{HARBOR}/cohort-risk:r7"}, "canaryTrafficPercent": 25}}},
        ),
    )
    assert result.traffic == {"primary": 75, "canary": 25}


def test_rolling_out_the_same_tag_again_reuses_its_version_and_changes_the_share_only(dev):
    fake = healthy()
    fake.mlflow.exists = True
    fake.mlflow.versions = {
        "research-dev-variant-caller": [
            version(
                "research-dev-variant-caller", "4", "s3://research-dev-model-artifacts/variant-caller/v2.0/", "v2.0"
            )
        ]
    }
    result = rollout_with(dev, "variants", "v2.0", 50, fake.mlflow, fake.custom)
    assert "mlflow.create_model_version" not in fake.names()
    assert result.version == "models:/research-dev-variant-caller/4" and result.traffic == {"primary": 50, "canary": 50}
    assert fake.calls[-1][1][-1]["spec"]["predictor"]["canaryTrafficPercent"] == 50


def test_rollout_refuses_unknown_endpoint_and_bad_share_before_any_call(dev):
    fake = healthy()
    with pytest.raises(RolloutError, match="endpoint 'nope' is not in the blueprint; endpoints: variants, cohort"):
        rollout_with(dev, "nope", "v1", 10, fake.mlflow, fake.custom)
    for share in (0, 101):
        with pytest.raises(RolloutError, match="between 1 and 100"):
            rollout_with(dev, "variants", "v1", share, fake.mlflow, fake.custom)
    assert fake.calls == []


def test_rollout_refuses_a_missing_inference_service_and_changes_nothing(dev):
    fake = healthy()
    del fake.objects[(SERVING, "inferenceservices", "variants")]
    with pytest.raises(RolloutError, match=f"InferenceService variants does not exist in namespace {SERVING}; deploy"):
        rollout_with(dev, "variants", "v1", 10, fake.mlflow, fake.custom)
    assert fake.names() == ["custom.get_namespaced_custom_object"]  # nothing registered, nothing patched


def test_rollout_refuses_a_canary_in_raw_deployment_mode_but_promotes(dev):
    fake = healthy()
    fake.objects[(SERVING, "inferenceservices", "variants")] = inference_service(
        "variants", 1, 3, image=VARIANTS_IMAGE, mode="RawDeployment"
    )
    with pytest.raises(RolloutError, match="RawDeployment mode, which has no canary: roll out with --traffic 100"):
        rollout_with(dev, "variants", "v1", 10, fake.mlflow, fake.custom)
    assert fake.names() == ["custom.get_namespaced_custom_object"]
    assert rollout_with(dev, "variants", "v1", 100, fake.mlflow, fake.custom).traffic == {"primary": 100}


def test_rollout_refuses_a_predictor_without_an_image(dev):
    fake = healthy()
    del fake.objects[(SERVING, "inferenceservices", "cohort")]["spec"]["predictor"]["model"]
    with pytest.raises(RolloutError, match="the predictor has no container image to retag"):
        rollout_with(dev, "cohort", "v1", 10, fake.mlflow, fake.custom)
    assert fake.names() == ["custom.get_namespaced_custom_object"]


# ----------------------------------------------------------------------- verify: the Kubernetes half


def test_verify_reads_back_namespaces_queues_services_and_models(dev):
    fake = healthy()
    fake.mlflow.versions = {
        "research-dev-variant-caller": [
            version("research-dev-variant-caller", "2", "s3://x/2/", "v2.0"),
            version("research-dev-variant-caller", "1", "s3://x/1/", "v1.0"),
        ]
    }
    checks = fake.verify(dev)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert [(c.component, c.subject) for c in checks] == [
        *[("baseline", ns) for ns in NAMESPACES],
        ("training", "a100"),
        ("training", "t4"),
        ("serving", "variants"),
        ("serving", "cohort"),
        ("registry", "variant-caller"),
        ("registry", "cohort-risk"),
    ]
    detail = {c.subject: c.detail for c in checks}
    assert detail["research-dev-data"] == (
        "Pod Security restricted; quota compute; default-deny ingress and egress; 0 Role(s), no wildcards"
    )
    assert detail["research-dev-training"].endswith("1 Role(s), no wildcards")
    assert detail["a100"] == "ClusterQueue research-dev-a100: nvidia.com/mig-3g.40gb 16 (research-dev-a100)"
    assert detail["t4"] == "ClusterQueue research-dev-t4: nvidia.com/gpu 96 (research-dev-t4)"
    assert detail["variants"] == "variants: Ready, replicas 1-3, cluster-local; variants-predictor-00001 100%"
    assert detail["cohort"] == "cohort: Ready, replicas 1-6, cluster-local; cohort-predictor-00001 100%"
    assert detail["variant-caller"] == "research-dev-variant-caller: 2 version(s): 1 (v1.0), 2 (v2.0)"
    assert detail["cohort-risk"] == "research-dev-cohort-risk: no version yet (rollout registers the first)"
    per_namespace = [
        [
            ("core.read_namespace", (ns,)),
            ("core.list_namespaced_resource_quota", (ns,)),
            ("networking.list_namespaced_network_policy", (ns,)),
            ("rbac.list_namespaced_role", (ns,)),
        ]
        for ns in NAMESPACES
    ]
    assert fake.calls == [
        *[call for calls in per_namespace for call in calls],
        ("custom.get_cluster_custom_object", (*KUEUE, "clusterqueues", "research-dev-a100")),
        ("custom.get_cluster_custom_object", (*KUEUE, "clusterqueues", "research-dev-t4")),
        ("custom.get_namespaced_custom_object", (*KSERVE, SERVING, "inferenceservices", "variants")),
        ("custom.get_namespaced_custom_object", (*KSERVE, SERVING, "inferenceservices", "cohort")),
        ("mlflow.search_model_versions", ("name='research-dev-variant-caller'",)),
        ("mlflow.search_model_versions", ("name='research-dev-cohort-risk'",)),
    ]


def test_verify_fails_missing_quota_wildcard_role_wrong_queue_quota_and_unready_service(dev):
    fake = healthy()
    fake.quotas[SERVING] = []
    fake.roles["research-dev-training"].append(role("too-much", ["*"], ["jobs"]))
    fake.roles["research-dev-data"] = [role("everything", ["get"], ["*"])]
    fake.cluster_objects[("clusterqueues", "research-dev-t4")] = cluster_queue("research-dev-t4", "nvidia.com/gpu", 24)
    fake.cluster_objects[("clusterqueues", "research-dev-a100")] = cluster_queue(
        "research-dev-a100", "nvidia.com/gpu", 8
    )
    fake.objects[(SERVING, "inferenceservices", "cohort")] = inference_service(
        "cohort", 2, 6, model_image=COHORT_IMAGE, ready=False
    )
    failed = {c.subject: c.detail for c in fake.verify(dev) if not c.ok}
    assert failed == {
        SERVING: "no ResourceQuota",
        "research-dev-training": "Role(s) with '*' verbs or resources: too-much",
        "research-dev-data": "Role(s) with '*' verbs or resources: everything",
        "t4": "ClusterQueue research-dev-t4: nvidia.com/gpu quota 24, want 96",
        "a100": "ClusterQueue research-dev-a100 has no quota for nvidia.com/mig-3g.40gb (want 16)",
        "cohort": 'cohort: not Ready (RevisionMissing: Revision "cohort-predictor-00002" failed with message: '
        "Back-off pulling image); minReplicas 2, want 1",
    }


def test_verify_fails_pod_security_network_policy_exposure_logging_and_a_missing_namespace(dev):
    fake = healthy()
    fake.namespaces["research-dev-data"] = namespace("research-dev-data", enforce="baseline")
    fake.namespaces["research-dev-registry"] = namespace("research-dev-registry", enforce=None)
    # An egress-only deny, and a "deny" that selects only some pods, cover no ingress.
    fake.policies["research-dev-monitoring"] = [
        policy("deny-egress", ["Egress"]),
        policy("deny-some", ["Ingress"], selector={"app": "x"}),
        ALLOW_DNS,
    ]
    fake.policies["research-dev-training"] = [ALLOW_DNS]
    del fake.namespaces["research-dev-personas"]
    isvc = fake.objects[(SERVING, "inferenceservices", "variants")]
    isvc["metadata"]["labels"] = {}
    del isvc["spec"]["predictor"]["logger"]
    failed = {c.subject: c.detail for c in fake.verify(dev) if not c.ok}
    assert failed == {
        "research-dev-data": "Pod Security enforce baseline, want restricted",
        "research-dev-registry": "Pod Security enforce unset, want restricted",
        "research-dev-monitoring": "no default-deny NetworkPolicy for ingress",
        "research-dev-training": "no default-deny NetworkPolicy for egress and ingress",
        "research-dev-personas": "namespace research-dev-personas does not exist (deploy the environment first)",
        "variants": f"variants: {VISIBILITY} unset (reachable from outside the cluster), want cluster-local; "
        "request logging off, want all",
    }


def test_verify_turns_api_and_mlflow_errors_into_failed_checks(dev):
    fake = healthy()
    fake.forbidden[SERVING] = api_error(
        403,
        "Forbidden",
        'namespaces "research-dev-serving" is forbidden: User '
        '"ci" cannot get resource "namespaces" in API group "" at the cluster scope',
    )
    del fake.cluster_objects[("clusterqueues", "research-dev-t4")]
    fake.mlflow.error = MlflowException(
        "API request to http://127.0.0.1:5000/api/2.0/mlflow/model-versions/search "
        "failed with exception ConnectionError\nretries exhausted"
    )
    checks = {c.subject: c for c in fake.verify(dev)}
    assert checks[SERVING] == Check(
        "baseline",
        SERVING,
        False,
        "ApiException: 403 Forbidden: namespaces "
        '"research-dev-serving" is forbidden: User "ci" cannot get resource "namespaces" '
        'in API group "" at the cluster scope',
    )
    assert (
        checks["t4"].detail == 'ApiException: 404 Not Found: clusterqueues.kueue.x-k8s.io "research-dev-t4" not found'
    )
    assert checks["variant-caller"].detail == (
        "MlflowException: API request to http://127.0.0.1:5000/api/2.0/mlflow/"
        "model-versions/search failed with exception ConnectionError"
    )
    assert [s for s, c in checks.items() if not c.ok] == [SERVING, "t4", "variant-caller", "cohort-risk"]


# ---------------------------------------------------------------------------------------------- state


def test_state_bootstrap_creates_the_namespace_once(dev):
    fake, said = FakeKube(), []
    bootstrap_state_with(dev, fake.core, said.append)
    bootstrap_state_with(dev, fake.core, said.append)
    assert said == ["creating state namespace research-dev-tfstate"]
    assert fake.names() == ["core.read_namespace", "core.create_namespace", "core.read_namespace"]
    body = fake.calls[1][1][0]
    assert body["metadata"]["name"] == "research-dev-tfstate"
    assert body["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "mlops-blueprint",
        "mlops.io/blueprint": "research",
        "mlops.io/environment": "dev",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


def test_state_bootstrap_tolerates_a_concurrent_create_and_raises_other_errors(dev):
    fake = FakeKube()
    fake.create_error = api_error(409, "Conflict", 'namespaces "research-dev-tfstate" already exists')
    bootstrap_state_with(dev, fake.core, lambda m: None)
    fake.create_error = api_error(403, "Forbidden", "cannot create namespaces")
    with pytest.raises(ApiException):
        bootstrap_state_with(dev, fake.core, lambda m: None)
    fake.forbidden["research-dev-tfstate"] = api_error(401, "Unauthorized", "Unauthorized")
    with pytest.raises(ApiException):
        bootstrap_state_with(dev, fake.core, lambda m: None)


def test_state_is_never_deleted_by_the_tool(dev):
    with pytest.raises(NotImplementedError):
        glue.delete_state(dev, TARGET, lambda m: None)


# ---------------------------------------------------------------------------------------- credentials


def test_a_missing_kubeconfig_is_a_credential_error(dev, monkeypatch, tmp_path):
    from kubernetes.config.config_exception import ConfigException

    monkeypatch.delenv("KUBE_CONFIG_PATH", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing" / "config"))
    assert glue.credential_errors() == (ConfigException,)
    assert "KUBECONFIG" in glue.CREDENTIALS_HINT and "target.kube_context" in glue.CREDENTIALS_HINT
    with pytest.raises(glue.credential_errors()) as raised:
        glue.bootstrap_state(dev, TARGET, lambda m: None)
    assert f"cannot load the kubeconfig context 'research-dev' from {tmp_path}/missing/config" in str(raised.value)
    with pytest.raises(glue.credential_errors()):
        glue.verify(dev, TARGET)
    with pytest.raises(glue.credential_errors()):
        glue.rollout(dev, "variants", "v1", 10, TARGET)


def kubeconfig(path, context):
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": context,
                "clusters": [
                    {
                        "name": "research",
                        "cluster": {"server": "https://10.20.0.1:6443", "insecure-skip-tls-verify": True},
                    }
                ],
                "users": [{"name": "ci", "user": {"token": "not-a-secret"}}],
                "contexts": [{"name": context, "context": {"cluster": "research", "user": "ci"}}],
            }
        )
    )
    return path


def test_the_clients_use_the_target_context_of_kube_config_path_first(dev, monkeypatch, tmp_path):
    from kubernetes.config.config_exception import ConfigException

    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "other", "research-prod")))
    monkeypatch.setenv("KUBE_CONFIG_PATH", str(kubeconfig(tmp_path / "config", "research-dev")))
    clients = glue.kube_clients(dev)
    assert clients.core.api_client.configuration.host == "https://10.20.0.1:6443"
    assert clients.custom.api_client is clients.core.api_client
    monkeypatch.delenv("KUBE_CONFIG_PATH")  # KUBECONFIG has only research-prod: the dev context is missing
    with pytest.raises(ConfigException, match="cannot load the kubeconfig context 'research-dev'"):
        glue.kube_clients(dev)


def test_mlflow_is_reached_at_the_tracking_uri_or_the_in_cluster_service(dev, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert glue.tracking_uri(dev) == "http://mlflow.research-dev-registry.svc.cluster.local:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert glue.tracking_uri(dev) == "http://127.0.0.1:5000"
    assert glue.mlflow_client(dev)._registry_uri == "http://127.0.0.1:5000"


def test_cli_rollout_and_verify_on_onprem_use_the_glue(dev, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from mlops_blueprint.scripts.cli import app

    fake = healthy()
    monkeypatch.setattr(
        glue, "kube_clients", lambda env: glue.KubeClients(fake.core, fake.custom, fake.rbac, fake.networking)
    )
    monkeypatch.setattr(glue, "mlflow_client", lambda env: fake.mlflow)
    monkeypatch.setattr(glue, "credentials_problem", lambda: None)  # as on a machine with credentials
    r = CliRunner().invoke(
        app,
        ["rollout", str(RESEARCH), "--env", "dev", "--endpoint", "variants", "--image-tag", "v3.1", "--traffic", "20"],
    )
    assert r.exit_code == 0, r.output
    assert "primary 80%" in r.output and "canary 20%" in r.output, r.output
    r = CliRunner().invoke(app, ["verify", str(RESEARCH), "--env", "dev"])
    assert r.exit_code == 0 and "12/12 checks passed" in r.output, r.output

    monkeypatch.undo()
    monkeypatch.delenv("KUBE_CONFIG_PATH", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    r = CliRunner().invoke(app, ["verify", str(RESEARCH), "--env", "dev"])
    assert r.exit_code == 3, r.output
    assert "no cloud credentials" in r.output and "KUBECONFIG" in r.output and "Traceback" not in r.output


# ------------------------------------------------------------------------- the MLflow half: a real server


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    """A real `mlflow server` (SQLite) on a loopback port, for the whole module (it starts in ~20 s)."""
    if not mlflow_emulator.available():
        pytest.skip("the MLflow server needs the full mlflow package (not mlflow-skinny)")
    with mlflow_emulator.mlflow_server(tmp_path_factory.mktemp("mlflow")) as url:
        yield url


def test_rollouts_register_the_model_and_one_version_per_tag_in_mlflow(dev, tracking):
    ml, fake = MlflowClient(tracking_uri=tracking, registry_uri=tracking), healthy()
    before = {c.subject: c for c in fake.verify(dev, ml) if c.component == "registry"}
    assert before["variant-caller"].ok and before["variant-caller"].detail == (
        "research-dev-variant-caller: no version yet (rollout registers the first)"
    )

    first = rollout_with(dev, "variants", "v1.0", 10, ml, fake.custom)
    model = ml.get_registered_model("research-dev-variant-caller")
    assert model.tags == {"mlops.io/blueprint": "research", "mlops.io/environment": "dev"}
    assert model.description == "variant-caller (research, environment dev)"
    [v1] = ml.search_model_versions("name='research-dev-variant-caller'")
    assert (v1.version, v1.source, v1.tags, v1.status) == (
        "1",
        "s3://research-dev-model-artifacts/variant-caller/v1.0/",
        {"image_tag": "v1.0"},
        "READY",
    )
    assert first.version == "models:/research-dev-variant-caller/1"
    assert first.steps[0] == "created registered model research-dev-variant-caller in MLflow"
    assert fake.calls[-1][1][-1]["spec"]["predictor"]["canaryTrafficPercent"] == 10

    second = rollout_with(dev, "variants", "v1.1", 100, ml, fake.custom)
    assert second.version == "models:/research-dev-variant-caller/2" and second.traffic == {"primary": 100}
    assert not any(s.startswith("created registered model") for s in second.steps)  # RESOURCE_ALREADY_EXISTS caught
    v2 = ml.get_model_version("research-dev-variant-caller", "2")
    assert (v2.source, v2.tags) == ("s3://research-dev-model-artifacts/variant-caller/v1.1/", {"image_tag": "v1.1"})
    assert fake.calls[-1][1][-1]["spec"]["predictor"]["canaryTrafficPercent"] is None

    retried = rollout_with(dev, "variants", "v1.1", 100, ml, fake.custom)  # a retry registers nothing new
    assert retried.version == "models:/research-dev-variant-caller/2" and retried.steps[0].startswith("reusing")
    assert len(ml.search_model_versions("name='research-dev-variant-caller'")) == 2

    after = {c.subject: c for c in fake.verify(dev, ml) if c.component == "registry"}
    assert after["variant-caller"].ok and after["variant-caller"].detail == (
        "research-dev-variant-caller: 2 version(s): 1 (v1.0), 2 (v1.1)"
    )
    assert after["cohort-risk"].detail == "research-dev-cohort-risk: no version yet (rollout registers the first)"


def test_an_artifact_given_to_rollout_is_the_version_source_in_mlflow(tracking):
    env = research_named("genomics")
    ml, fake = MlflowClient(tracking_uri=tracking, registry_uri=tracking), healthy()
    fake.objects[("genomics-dev-serving", "inferenceservices", "cohort")] = inference_service(
        "cohort", 1, 6, model_image=COHORT_IMAGE
    )
    result = rollout_with(env, "cohort", "r7", 100, ml, fake.custom, artifact="s3://shared-models/cohort-risk/r7/")
    assert result.version == "models:/genomics-dev-cohort-risk/1"
    [v] = ml.search_model_versions("name='genomics-dev-cohort-risk'")
    assert (v.source, v.tags) == ("s3://shared-models/cohort-risk/r7/", {"image_tag": "r7"})
    registry = {c.subject: c.detail for c in fake.verify(env, ml) if c.component == "registry"}
    assert registry == {
        "variant-caller": "genomics-dev-variant-caller: no version yet (rollout registers the first)",
        "cohort-risk": "genomics-dev-cohort-risk: 1 version(s): 1 (r7)",
    }
