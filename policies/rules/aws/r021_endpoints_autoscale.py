"""MLOPS_AWS_021: Serving endpoints autoscale with a target-tracking policy."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, refs


@rule(
    id="MLOPS_AWS_021",
    name="Serving endpoints autoscale with a target-tracking policy",
    severity="medium",
    category="serving",
    applies_to=("aws_sagemaker_endpoint",),
)
def check(d: Doc):
    for addr, _ in d.of("aws_sagemaker_endpoint"):
        targets = [t for t, tb in d.of("aws_appautoscaling_target") if addr in refs(tb.get("resource_id"))]
        policies = [p for t in targets for p, _ in d.referencing("aws_appautoscaling_policy", t, "resource_id")]
        ok = bool(targets and policies)
        yield addr, ok, "" if ok else "no scalable target with a scaling policy"
