"""MLOPS_AZ_003: Storage accounts are closed to public networks and public containers."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_AZ_003",
    name="Storage accounts are closed to public networks and public containers",
    severity="critical",
    category="data_lake",
    applies_to=("azurerm_storage_account",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_storage_account"):
        # azurerm has two spellings: public_network_access ("Disabled") and public_network_access_enabled (false)
        network_off = b.get("public_network_access") == "Disabled" or (
            b.get("public_network_access") is None and b.get("public_network_access_enabled") is False
        )
        deny = block(b, "network_rules").get("default_action") == "Deny"
        nested_off = b.get("allow_nested_items_to_be_public") is False
        problems = [
            p
            for p, bad in (
                ("public network access is on", not network_off),
                ("network_rules.default_action is not Deny", not deny),
                ("allow_nested_items_to_be_public is not false", not nested_off),
            )
            if bad
        ]
        yield addr, not problems, "; ".join(problems)
