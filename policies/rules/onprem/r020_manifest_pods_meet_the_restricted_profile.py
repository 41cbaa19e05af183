"""MLOPS_K8S_020: Pods the platform defines in manifests meet the restricted Pod Security Standard.

A restricted namespace refuses a pod that does not drop all capabilities, forbid privilege escalation,
run as non-root and use the RuntimeDefault (or a Localhost) seccomp profile; a manifest that leaves one
out applies cleanly and then never starts. Namespaces with a documented exception (MLOPS_K8S_009) are
not checked.
"""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import MANIFEST, PSA_ENFORCE, in_namespace, manifests, namespaces
from mlops_blueprint.policies.tfjson import Doc, as_list

# kind -> path from the object to the pod spec
POD_SPEC = {
    "Pod": ("spec",),
    "Job": ("spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
ISVC_COMPONENTS = ("predictor", "transformer", "explainer")
# KServe's model-server shortcuts: each is one container spec inside the component.
ISVC_CONTAINERS = (
    "model",
    "sklearn",
    "xgboost",
    "pytorch",
    "tensorflow",
    "onnx",
    "triton",
    "huggingface",
    "lightgbm",
    "pmml",
    "paddle",
)


def dig(obj: dict, path: tuple[str, ...]) -> dict:
    cur: object = obj
    for k in path:
        cur = cur.get(k) if isinstance(cur, dict) else None
    return cur if isinstance(cur, dict) else {}


def pods(obj: dict) -> list[tuple[str, dict, list[dict]]]:
    """(where, pod-level securityContext holder, containers) of each pod the object defines."""
    kind = obj.get("kind")
    if kind in POD_SPEC:
        spec = dig(obj, POD_SPEC[kind])
        return [("spec", spec, [c for k in ("containers", "initContainers") for c in as_list(spec.get(k))])]
    if kind == "InferenceService":
        out = []
        for comp in ISVC_COMPONENTS:
            spec = dig(obj, ("spec", comp))
            if spec:
                cs = as_list(spec.get("containers")) + [
                    spec[k] for k in ISVC_CONTAINERS if isinstance(spec.get(k), dict)
                ]
                out.append((comp, spec, cs))
        return out
    return []


def problems(pod: dict, containers: list[dict]) -> list[str]:
    psc = pod.get("securityContext") or {}
    out = []
    for c in containers:
        sc = c.get("securityContext") or {}
        name = c.get("name", "container")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation is not false")
        if "ALL" not in as_list((sc.get("capabilities") or {}).get("drop")):
            out.append(f"{name}: capabilities.drop lacks ALL")
        if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
            out.append(f"{name}: runAsNonRoot is not true")
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"{name}: no RuntimeDefault seccompProfile")
    return out


@rule(
    id="MLOPS_K8S_020",
    name="Pods defined in manifests meet the restricted Pod Security Standard",
    severity="medium",
    category="baseline",
    applies_to=(MANIFEST,),
)
def check(d: Doc):
    exempt = [ns for ns in namespaces(d) if ns.labels.get(PSA_ENFORCE, "restricted") != "restricted"]
    for addr, obj in manifests(d, *POD_SPEC, "InferenceService"):
        where = (obj.get("metadata") or {}).get("namespace")
        if any(in_namespace(where, ns) for ns in exempt):
            continue
        bad = [f"{w}: {p}" for w, pod, cs in pods(obj) for p in problems(pod, cs)]
        yield addr, not bad, "; ".join(bad)
