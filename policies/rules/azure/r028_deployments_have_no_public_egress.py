"""MLOPS_AZ_028: Online deployments have no public outbound access."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.azure import AZAPI, ONLINE_DEPLOYMENT, azapi_of, properties
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AZ_028",
    name="Online deployments have no public outbound access",
    severity="high",
    category="serving",
    applies_to=(AZAPI,),
)
def check(d: Doc):
    for addr, b in azapi_of(d, ONLINE_DEPLOYMENT):
        egress = properties(b).get("egressPublicNetworkAccess")
        ok = egress == "Disabled"
        yield addr, ok, "" if ok else f"egressPublicNetworkAccess {egress!r}: a model could send data anywhere"
