"""MLOPS_K8S_006: Every namespace has a LimitRange giving containers default requests and limits."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import (
    LIMIT_RANGE_TYPES,
    MANIFEST,
    NAMESPACE_TYPES,
    in_namespace,
    namespaced,
    namespaces,
)
from mlops_blueprint.policies.tfjson import Doc, as_list, block


def container_defaults(obj: dict, typed: bool) -> bool:
    request_key = "default_request" if typed else "defaultRequest"
    return any(
        isinstance(lim, dict) and lim.get("type") == "Container" and lim.get("default") and lim.get(request_key)
        for lim in as_list(block(obj, "spec").get("limit" if typed else "limits"))
    )


@rule(
    id="MLOPS_K8S_006",
    name="Every namespace has a LimitRange with container defaults",
    severity="medium",
    category="baseline",
    applies_to=(*NAMESPACE_TYPES, *LIMIT_RANGE_TYPES, MANIFEST),
)
def check(d: Doc):
    ranges = [
        (v, obj, not addr.startswith(MANIFEST + "."))
        for addr, v, obj in namespaced(d, LIMIT_RANGE_TYPES, ("LimitRange",))
    ]
    for ns in namespaces(d):
        ok = any(in_namespace(v, ns) and container_defaults(obj, typed) for v, obj, typed in ranges)
        yield (
            ns.address,
            ok,
            "" if ok else f"namespace {ns.name!r} has no LimitRange with Container default and defaultRequest",
        )
