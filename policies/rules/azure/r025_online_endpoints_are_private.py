"""MLOPS_AZ_025: Online endpoints are reachable only through the workspace's private endpoint."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.azure import AZAPI, ONLINE_ENDPOINT, azapi_of, properties
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AZ_025",
    name="Online endpoints are reachable only through the workspace's private endpoint",
    severity="high",
    category="serving",
    applies_to=(AZAPI,),
)
def check(d: Doc):
    for addr, b in azapi_of(d, ONLINE_ENDPOINT):
        access = properties(b).get("publicNetworkAccess")
        ok = access == "Disabled"
        yield (
            addr,
            ok,
            "" if ok else f"publicNetworkAccess {access!r}: set it to Disabled (serving endpoint private: true)",
        )
