"""MLOPS_K8S_011: InferenceServices are reachable only inside the cluster."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import MANIFEST, inference_services
from mlops_blueprint.policies.tfjson import Doc

VISIBILITY = "networking.kserve.io/visibility"


@rule(
    id="MLOPS_K8S_011",
    name="InferenceServices are reachable only inside the cluster",
    severity="high",
    category="serving",
    applies_to=(MANIFEST,),
)
def check(d: Doc):
    for addr, obj in inference_services(d):
        ok = ((obj.get("metadata") or {}).get("labels") or {}).get(VISIBILITY) == "cluster-local"
        yield (
            addr,
            ok,
            "" if ok else f"no {VISIBILITY}: cluster-local label: the endpoint is exposed through the ingress",
        )
