"""MLOPS_AWS_022: Models run network-isolated inside the platform VPC."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AWS_022",
    name="Models run network-isolated inside the platform VPC",
    severity="high",
    category="serving",
    applies_to=("aws_sagemaker_model",),
)
def check(d: Doc):
    for addr, b in d.of("aws_sagemaker_model"):
        ok = b.get("enable_network_isolation") is True and bool((b.get("vpc_config") or {}).get("subnets"))
        yield addr, ok, "" if ok else "enable_network_isolation is off or there is no vpc_config"
