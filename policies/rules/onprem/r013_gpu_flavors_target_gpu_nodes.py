"""MLOPS_K8S_013: GPU ResourceFlavors select the pool's nodes and tolerate their GPU taint."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import GPU_TAINT_KEY, MANIFEST, flavors
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_K8S_013",
    name="GPU ResourceFlavors select their nodes and tolerate the GPU taint",
    severity="medium",
    category="training",
    applies_to=(MANIFEST,),
)
def check(d: Doc):
    for addr, fl in flavors(d):
        spec = fl.get("spec") or {}
        tolerated = any(
            t.get("key") == GPU_TAINT_KEY
            and t.get("effect") in ("NoSchedule", None)
            and t.get("operator", "Equal") in ("Exists", "Equal")
            for t in as_list(spec.get("tolerations"))
        )
        problems = ([] if spec.get("nodeLabels") else ["no nodeLabels: jobs may land on any node"]) + (
            [] if tolerated else [f"no toleration for the {GPU_TAINT_KEY}:NoSchedule taint"]
        )
        yield addr, not problems, "; ".join(problems)
