"""MLOPS_GCP_021: Alert policies notify a channel."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_GCP_021",
    name="Alert policies notify a channel",
    severity="medium",
    category="monitoring",
    applies_to=("google_monitoring_alert_policy",),
)
def check(d: Doc):
    for addr, b in d.of("google_monitoring_alert_policy"):
        ok = bool(as_list(b.get("notification_channels"))) and b.get("enabled") is not False
        yield addr, ok, "" if ok else "disabled, or no notification channel: nobody hears the alert"
