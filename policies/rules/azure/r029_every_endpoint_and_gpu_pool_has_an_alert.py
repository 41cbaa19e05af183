"""MLOPS_AZ_029: Every online endpoint and GPU pool has an alert that e-mails someone."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.azure import (
    AZAPI,
    ONLINE_ENDPOINT,
    POOL_LABEL,
    azapi_of,
    email_action_groups,
    gpu_pools,
)
from mlops_blueprint.policies.tfjson import Doc, as_list, refs

POOL_SERIES_LABEL = "label_" + POOL_LABEL.replace(".", "_").replace("/", "_")  # kube_node_labels' name


def _wired(actions: object, groups: set[str]) -> bool:
    return bool(refs(actions) & groups)


@rule(
    id="MLOPS_AZ_029",
    name="Every online endpoint and GPU pool has an alert that e-mails someone",
    severity="medium",
    category="monitoring",
    applies_to=(AZAPI, "azurerm_kubernetes_cluster_node_pool"),
)
def check(d: Doc):
    groups = email_action_groups(d)
    metric = [
        (refs(b.get("scopes")), b)
        for _, b in d.of("azurerm_monitor_metric_alert")
        if b.get("enabled") is not False
        and _wired([a.get("action_group_id") for a in as_list(b.get("action"))], groups)
    ]
    queries = [
        " ".join(str(c.get("query", "")) for c in as_list(b.get("criteria")))
        for _, b in d.of("azurerm_monitor_scheduled_query_rules_alert_v2")
        if b.get("enabled") is not False and _wired((b.get("action") or {}).get("action_groups"), groups)
    ]
    prom = [
        r
        for _, b in d.of("azurerm_monitor_alert_prometheus_rule_group")
        if b.get("rule_group_enabled") is not False
        for r in as_list(b.get("rule"))
        if r.get("enabled") is not False and _wired(r.get("action"), groups)
    ]
    for addr, b in azapi_of(d, ONLINE_ENDPOINT):
        name = str(b.get("name", ""))
        ok = any(addr in scopes for scopes, _ in metric) or any(f'"{name}"' in q for q in queries)
        yield (
            addr,
            ok,
            "" if ok else "no enabled alert on this endpoint reaches an action group with an e-mail receiver",
        )
    for addr, b in gpu_pools(d):
        pool = (b.get("node_labels") or {}).get(POOL_LABEL)
        ok = pool is not None and any(f'{POOL_SERIES_LABEL}="{pool}"' in str(r.get("expression", "")) for r in prom)
        yield addr, ok, "" if ok else "no enabled alert on this pool reaches an action group with an e-mail receiver"
