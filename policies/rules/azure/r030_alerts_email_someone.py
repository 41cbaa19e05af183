"""MLOPS_AZ_030: Alerts notify an action group with an e-mail receiver."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.azure import email_action_groups
from mlops_blueprint.policies.tfjson import Doc, as_list, refs

ALERT_TYPES = (
    "azurerm_monitor_metric_alert",
    "azurerm_monitor_scheduled_query_rules_alert_v2",
    "azurerm_monitor_alert_prometheus_rule_group",
    "azurerm_monitor_activity_log_alert",
)


@rule(
    id="MLOPS_AZ_030",
    name="Alerts notify an action group with an e-mail receiver",
    severity="medium",
    category="monitoring",
    applies_to=ALERT_TYPES,
)
def check(d: Doc):
    groups = email_action_groups(d)
    for addr, b in d.of(*ALERT_TYPES):
        if addr.startswith("azurerm_monitor_alert_prometheus_rule_group."):
            rules = as_list(b.get("rule"))
            ok = bool(rules) and all(refs(r.get("action")) & groups for r in rules)
        else:
            ok = bool(refs(b.get("action")) & groups)
        ok = ok and b.get("enabled") is not False
        yield (
            addr,
            ok,
            "" if ok else "disabled, or no action reaches an action group with an e-mail receiver: nobody hears it",
        )
