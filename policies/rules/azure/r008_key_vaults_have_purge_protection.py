"""MLOPS_AZ_008: Key vaults have purge protection."""

from mlops_blueprint.policies.checks import value_rule

value_rule(
    id="MLOPS_AZ_008",
    name="Key vaults have purge protection",
    severity="high",
    category="baseline",
    resource_type="azurerm_key_vault",
    path=("purge_protection_enabled",),
    expected=True,
    message="purge_protection_enabled is not true: a deleted vault and its keys can be purged at once",
)
