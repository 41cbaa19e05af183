"""MLOPS_K8S_003: Roles and ClusterRoles name their API groups, resources and verbs (no wildcards)."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import MANIFEST, ROLE_TYPES, manifests
from mlops_blueprint.policies.tfjson import Doc, as_list


def wildcards(rules: list, typed: bool) -> list[str]:
    keys = (
        ("api_groups", "resources", "verbs", "non_resource_urls")
        if typed
        else ("apiGroups", "resources", "verbs", "nonResourceURLs")
    )
    return sorted({k for r in rules if isinstance(r, dict) for k in keys if "*" in as_list(r.get(k))})


@rule(
    id="MLOPS_K8S_003",
    name="Roles name their verbs, resources and API groups: no wildcards",
    severity="high",
    category="iam",
    applies_to=(*ROLE_TYPES, MANIFEST),
)
def check(d: Doc):
    for addr, b in d.of(*ROLE_TYPES):
        bad = wildcards(as_list(b.get("rule")), typed=True)
        yield addr, not bad, "" if not bad else f"wildcard in {', '.join(bad)}: grant named verbs on named resources"
    for addr, obj in manifests(d, "Role", "ClusterRole"):
        bad = wildcards(as_list(obj.get("rules")), typed=False)
        yield addr, not bad, "" if not bad else f"wildcard in {', '.join(bad)}: grant named verbs on named resources"
