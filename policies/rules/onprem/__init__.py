"""On-prem Kubernetes resource rules: one file each, MLOPS_K8S_NNN.

Shared readers for the rules below. The stack holds Kubernetes objects in three shapes:
- typed resources (`kubernetes_namespace_v1`, `kubernetes_network_policy_v1`, `kubernetes_role_v1`, ...),
  written in Terraform's snake_case, with `metadata` as an object or a one-item list;
- raw objects (`kubernetes_manifest`), whose `manifest` is the object as the API server takes it
  (camelCase; custom resources: Kueue, KServe, Prometheus Operator);
- Helm releases (`helm_release`), whose `values` are YAML documents.
A namespace is named literally or through a reference (`${kubernetes_namespace_v1.<name>.metadata[0].name}`);
`namespace_index` resolves both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml

from mlops_blueprint.policies.tfjson import Doc, as_list, block, refs

MANIFEST = "kubernetes_manifest"
RELEASE = "helm_release"
NAMESPACE_TYPES = ("kubernetes_namespace_v1", "kubernetes_namespace")
NETWORK_POLICY_TYPES = ("kubernetes_network_policy_v1", "kubernetes_network_policy")
ROLE_TYPES = ("kubernetes_role_v1", "kubernetes_role", "kubernetes_cluster_role_v1", "kubernetes_cluster_role")
BINDING_TYPES = (
    "kubernetes_role_binding_v1",
    "kubernetes_role_binding",
    "kubernetes_cluster_role_binding_v1",
    "kubernetes_cluster_role_binding",
)
QUOTA_TYPES = ("kubernetes_resource_quota_v1", "kubernetes_resource_quota")
LIMIT_RANGE_TYPES = ("kubernetes_limit_range_v1", "kubernetes_limit_range")
WORKLOAD_TYPES = (
    "kubernetes_deployment_v1",
    "kubernetes_daemon_set_v1",
    "kubernetes_stateful_set_v1",
    "kubernetes_job_v1",
    "kubernetes_cron_job_v1",
    "kubernetes_pod_v1",
    "kubernetes_deployment",
    "kubernetes_daemonset",
    "kubernetes_stateful_set",
    "kubernetes_job",
    "kubernetes_cron_job",
    "kubernetes_pod",
)
PVC_TYPES = ("kubernetes_persistent_volume_claim_v1", "kubernetes_persistent_volume_claim")
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_RESOURCE = re.compile(r"^nvidia\.com/(gpu|mig-.+)$")


def metadata(body: dict) -> dict:
    """A typed resource's metadata (object or one-item list) or a manifest's metadata."""
    return block(body, "metadata")


def manifests(d: Doc, *kinds: str) -> Iterator[tuple[str, dict]]:
    """(address, object) of every `kubernetes_manifest` whose kind is one of `kinds` (all when none)."""
    for addr, b in d.of(MANIFEST):
        obj = b.get("manifest")
        if isinstance(obj, dict) and (not kinds or obj.get("kind") in kinds):
            yield addr, obj


@dataclass
class Namespace:
    address: str
    name: str
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)


def namespaces(d: Doc) -> list[Namespace]:
    """Every namespace the stack creates: typed namespaces and Namespace manifests."""
    out = []
    for addr, b in d.of(*NAMESPACE_TYPES):
        md = metadata(b)
        out.append(Namespace(addr, str(md.get("name", "")), md.get("labels") or {}, md.get("annotations") or {}))
    for addr, obj in manifests(d, "Namespace"):
        md = obj.get("metadata") or {}
        out.append(Namespace(addr, str(md.get("name", "")), md.get("labels") or {}, md.get("annotations") or {}))
    return out


def in_namespace(value: object, ns: Namespace) -> bool:
    """Whether a `metadata.namespace` value (literal or reference) names `ns`."""
    return value == ns.name or ns.address in refs(value)


def namespaced(d: Doc, typed: tuple[str, ...], kinds: tuple[str, ...]) -> Iterator[tuple[str, object, dict]]:
    """(address, namespace value, object) of typed resources of `typed` and manifests of `kinds`."""
    for addr, b in d.of(*typed):
        yield addr, metadata(b).get("namespace"), b
    for addr, obj in manifests(d, *kinds):
        yield addr, (obj.get("metadata") or {}).get("namespace"), obj


def helm_values(body: dict) -> list[object]:
    """A release's values documents, parsed (a document that is not YAML is returned as its text)."""
    out: list[object] = []
    for text in as_list(body.get("values")):
        try:
            out.append(yaml.safe_load(text) if isinstance(text, str) else text)
        except yaml.YAMLError:
            out.append(text)
    return out


def walk(obj: object, path: tuple = ()) -> Iterator[tuple[tuple, object, object]]:
    """(path, key, value) of every entry of nested dicts and lists."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield path + (k,), k, v
            yield from walk(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, path + (i,))


def dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def flavors(d: Doc) -> list[tuple[str, dict]]:
    """Kueue ResourceFlavors."""
    return [
        (a, o) for a, o in manifests(d, "ResourceFlavor") if str(o.get("apiVersion", "")).startswith("kueue.x-k8s.io/")
    ]


def cluster_queues(d: Doc) -> list[tuple[str, dict]]:
    return [
        (a, o) for a, o in manifests(d, "ClusterQueue") if str(o.get("apiVersion", "")).startswith("kueue.x-k8s.io/")
    ]


def inference_services(d: Doc) -> list[tuple[str, dict]]:
    return [
        (a, o)
        for a, o in manifests(d, "InferenceService")
        if str(o.get("apiVersion", "")).startswith("serving.kserve.io/")
    ]


def name_of(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))
