"""MLOPS_AWS_024: Alarms notify a topic that has subscribers."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, refs


@rule(
    id="MLOPS_AWS_024",
    name="Alarms notify a topic that has subscribers",
    severity="medium",
    category="monitoring",
    applies_to=("aws_cloudwatch_metric_alarm",),
)
def check(d: Doc):
    subscribed = {t for t, _ in d.of("aws_sns_topic") if d.referencing("aws_sns_topic_subscription", t, "topic_arn")}
    for addr, b in d.of("aws_cloudwatch_metric_alarm"):
        ok = bool(refs(b.get("alarm_actions")) & subscribed)
        yield addr, ok, "" if ok else "alarm_actions reach no topic with a subscriber"
