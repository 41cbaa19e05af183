"""MLOPS_AZ_015: AKS API servers are private, with no public FQDN."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AZ_015",
    name="AKS API servers are private, with no public FQDN",
    severity="high",
    category="training",
    applies_to=("azurerm_kubernetes_cluster",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_kubernetes_cluster"):
        ok = b.get("private_cluster_enabled") is True and b.get("private_cluster_public_fqdn_enabled") is not True
        yield addr, ok, "" if ok else "private_cluster_enabled is not true, or a public FQDN is published"
