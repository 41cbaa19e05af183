"""MLOPS_AZ_026: Online endpoints authenticate callers with Entra ID tokens, not keys."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.azure import AZAPI, ONLINE_ENDPOINT, azapi_of, properties
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AZ_026",
    name="Online endpoints authenticate callers with Entra ID tokens, not keys",
    severity="high",
    category="serving",
    applies_to=(AZAPI,),
)
def check(d: Doc):
    for addr, b in azapi_of(d, ONLINE_ENDPOINT):
        mode = properties(b).get("authMode")
        ok = mode in ("AADToken", "AMLToken")
        yield addr, ok, "" if ok else f"authMode {mode!r}: static keys bypass RBAC; use AADToken"
