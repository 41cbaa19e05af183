"""MLOPS_K8S_009: Every namespace enforces the restricted Pod Security Standard, except a documented few."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import MANIFEST, NAMESPACE_TYPES, PSA_ENFORCE, namespaces
from mlops_blueprint.policies.tfjson import Doc

# The allow-list: plane (the namespace's `mlops.io/plane` label) -> the level it may enforce, and why.
ALLOWED = {
    "gpu-operator": (
        "privileged",
        "the NVIDIA GPU Operator's driver, toolkit, device plugin, MIG manager and "
        "DCGM exporter DaemonSets run privileged with host paths on the GPU nodes",
    )
}
PLANE_LABEL = "mlops.io/plane"
# Any other namespace may enforce a weaker level only when it says why in this annotation (10+ characters).
EXCEPTION = "mlops.io/pod-security-exception"


@rule(
    id="MLOPS_K8S_009",
    name="Every namespace enforces the restricted Pod Security Standard unless it says why not",
    severity="high",
    category="baseline",
    applies_to=(*NAMESPACE_TYPES, MANIFEST),
)
def check(d: Doc):
    for ns in namespaces(d):
        level = ns.labels.get(PSA_ENFORCE)
        why = str(ns.annotations.get(EXCEPTION) or "")
        if level is None:
            yield ns.address, False, f"namespace {ns.name!r} has no {PSA_ENFORCE} label"
        elif (
            level != "restricted"
            and ALLOWED.get(str(ns.labels.get(PLANE_LABEL)), ("",))[0] != level
            and len(why.strip()) < 10
        ):
            yield (
                ns.address,
                False,
                (
                    f"namespace {ns.name!r} enforces {level!r}: enforce restricted, or give the "
                    f"reason in the {EXCEPTION} annotation"
                ),
            )
        else:
            yield ns.address, True, ""
