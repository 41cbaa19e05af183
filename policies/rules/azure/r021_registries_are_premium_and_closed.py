"""MLOPS_AZ_021: Container registries are Premium, with admin user, anonymous pull and public access off."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AZ_021",
    name="Container registries are Premium, with admin user, anonymous pull and public access off",
    severity="high",
    category="registry",
    applies_to=("azurerm_container_registry",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_container_registry"):
        problems = [
            p
            for p, bad in (
                (f"sku {b.get('sku')!r} is not Premium (no private link, CMK or retention)", b.get("sku") != "Premium"),
                ("admin_enabled is not false", b.get("admin_enabled") is not False),
                ("anonymous pull is on", b.get("anonymous_pull_enabled") is True),
                ("public_network_access_enabled is not false", b.get("public_network_access_enabled") is not False),
            )
            if bad
        ]
        yield addr, not problems, "; ".join(problems)
