"""MLOPS_K8S_017: Terraform state is kept in the cluster (kubernetes backend) in a namespace of its own."""

from mlops_blueprint.policies.engine import ANY_TYPE, rule
from mlops_blueprint.policies.rules.onprem import namespaces
from mlops_blueprint.policies.tfjson import Doc

ADDRESS = "terraform.backend"
SHARED = {"default", "kube-system", "kube-public", "kube-node-lease"}


@rule(
    id="MLOPS_K8S_017",
    name="Terraform state is kept in a Kubernetes namespace of its own",
    severity="high",
    category="baseline",
    applies_to=(ANY_TYPE,),
)
def check(d: Doc):
    backend = (d.doc.get("terraform") or {}).get("backend") or {}
    k8s = backend.get("kubernetes")
    if not isinstance(k8s, dict):
        yield (
            ADDRESS,
            False,
            f"backend is {', '.join(backend) or 'none'}: use the kubernetes backend (a Secret with a lease lock)",
        )
        return
    ns = k8s.get("namespace")
    platform = {n.name for n in namespaces(d)}
    if not ns or ns in SHARED or ns in platform:
        yield (
            ADDRESS,
            False,
            (
                f"state namespace {ns!r} is shared: keep state where only its operators have access, "
                "apart from the platform's and the cluster's namespaces"
            ),
        )
    elif not k8s.get("secret_suffix"):
        yield ADDRESS, False, "no secret_suffix: environments would share one state Secret"
    else:
        yield ADDRESS, True, ""
