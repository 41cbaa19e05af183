"""MLOPS_AZ_017: AKS pods reach Azure through workload identity."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AZ_017",
    name="AKS pods reach Azure through workload identity",
    severity="medium",
    category="training",
    applies_to=("azurerm_kubernetes_cluster",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_kubernetes_cluster"):
        ok = b.get("oidc_issuer_enabled") is True and b.get("workload_identity_enabled") is True
        yield addr, ok, "" if ok else "oidc_issuer_enabled and workload_identity_enabled must both be true"
