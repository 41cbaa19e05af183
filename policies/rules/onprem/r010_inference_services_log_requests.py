"""MLOPS_K8S_010: InferenceServices log requests and responses to a sink."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import MANIFEST, inference_services
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_K8S_010",
    name="InferenceServices log requests and responses",
    severity="medium",
    category="serving",
    applies_to=(MANIFEST,),
)
def check(d: Doc):
    for addr, obj in inference_services(d):
        logger = ((obj.get("spec") or {}).get("predictor") or {}).get("logger") or {}
        ok = logger.get("mode") in ("all", "request", "response") and bool(logger.get("url"))
        yield addr, ok, "" if ok else "the predictor has no logger (mode and url): no record to monitor drift or audit"
