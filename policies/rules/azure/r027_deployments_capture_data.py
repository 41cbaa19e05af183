"""MLOPS_AZ_027: Online deployments capture model inputs and outputs."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.azure import AZAPI, ONLINE_DEPLOYMENT, azapi_of, properties
from mlops_blueprint.policies.tfjson import Doc

COLLECTIONS = ("model_inputs", "model_outputs")


@rule(
    id="MLOPS_AZ_027",
    name="Online deployments capture model inputs and outputs",
    severity="medium",
    category="serving",
    applies_to=(AZAPI,),
)
def check(d: Doc):
    for addr, b in azapi_of(d, ONLINE_DEPLOYMENT):
        collections = (properties(b).get("dataCollector") or {}).get("collections") or {}
        off = [
            c
            for c in COLLECTIONS
            if (collections.get(c) or {}).get("dataCollectionMode") != "Enabled"
            or not (collections.get(c) or {}).get("samplingRate", 1) > 0
        ]
        yield addr, not off, "" if not off else f"dataCollector does not capture {', '.join(off)}"
