"""MLOPS_K8S_005: Every namespace has a ResourceQuota bounding CPU, memory and pods."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import (
    MANIFEST,
    NAMESPACE_TYPES,
    QUOTA_TYPES,
    in_namespace,
    namespaced,
    namespaces,
)
from mlops_blueprint.policies.tfjson import Doc, block

NEEDED = ("pods",)
CPU = ("requests.cpu", "limits.cpu", "cpu")
MEMORY = ("requests.memory", "limits.memory", "memory")


def bounded(obj: dict) -> bool:
    hard = block(obj, "spec").get("hard") or {}
    return all(k in hard for k in NEEDED) and any(k in hard for k in CPU) and any(k in hard for k in MEMORY)


@rule(
    id="MLOPS_K8S_005",
    name="Every namespace has a ResourceQuota on CPU, memory and pods",
    severity="medium",
    category="baseline",
    applies_to=(*NAMESPACE_TYPES, *QUOTA_TYPES, MANIFEST),
)
def check(d: Doc):
    quotas = [(v, obj) for _, v, obj in namespaced(d, QUOTA_TYPES, ("ResourceQuota",))]
    for ns in namespaces(d):
        ok = any(in_namespace(v, ns) and bounded(obj) for v, obj in quotas)
        yield ns.address, ok, "" if ok else f"namespace {ns.name!r} has no ResourceQuota with cpu, memory and pods"
