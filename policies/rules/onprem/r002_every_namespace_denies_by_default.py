"""MLOPS_K8S_002: Every namespace has a default-deny NetworkPolicy for ingress and egress."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import (
    MANIFEST,
    NAMESPACE_TYPES,
    NETWORK_POLICY_TYPES,
    in_namespace,
    namespaced,
    namespaces,
)
from mlops_blueprint.policies.tfjson import Doc, block


def denies_all(obj: dict, typed: bool) -> bool:
    """Selects every pod, names both policy types and allows nothing."""
    spec = block(obj, "spec")
    selector = block(spec, "pod_selector" if typed else "podSelector")
    labels = selector.get("match_labels" if typed else "matchLabels")
    exprs = selector.get("match_expressions" if typed else "matchExpressions")
    types = set(spec.get("policy_types" if typed else "policyTypes") or [])
    return (
        not labels
        and not exprs
        and {"Ingress", "Egress"} <= types
        and not spec.get("ingress")
        and not spec.get("egress")
    )


@rule(
    id="MLOPS_K8S_002",
    name="Every namespace denies all ingress and egress unless a policy allows it",
    severity="high",
    category="baseline",
    applies_to=(*NAMESPACE_TYPES, *NETWORK_POLICY_TYPES, MANIFEST),
)
def check(d: Doc):
    policies = [
        (ns, obj, not addr.startswith(MANIFEST + "."))
        for addr, ns, obj in namespaced(d, NETWORK_POLICY_TYPES, ("NetworkPolicy",))
    ]
    for ns in namespaces(d):
        ok = any(in_namespace(v, ns) and denies_all(obj, typed) for v, obj, typed in policies)
        yield (
            ns.address,
            ok,
            ""
            if ok
            else f"namespace {ns.name!r} has no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)",
        )
