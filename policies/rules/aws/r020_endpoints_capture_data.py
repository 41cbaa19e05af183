"""MLOPS_AWS_020: Serving endpoints capture requests and responses, encrypted."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AWS_020",
    name="Serving endpoints capture requests and responses, encrypted",
    severity="medium",
    category="serving",
    applies_to=("aws_sagemaker_endpoint_configuration",),
)
def check(d: Doc):
    for addr, b in d.of("aws_sagemaker_endpoint_configuration"):
        cap = b.get("data_capture_config") or {}
        ok = cap.get("enable_capture") is True and bool(cap.get("kms_key_id"))
        yield addr, ok, "" if ok else "data capture is off or not encrypted"
