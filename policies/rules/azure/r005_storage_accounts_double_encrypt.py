"""MLOPS_AZ_005: Storage accounts add infrastructure (double) encryption."""

from mlops_blueprint.policies.checks import value_rule

value_rule(
    id="MLOPS_AZ_005",
    name="Storage accounts add infrastructure (double) encryption",
    severity="medium",
    category="data_lake",
    resource_type="azurerm_storage_account",
    path=("infrastructure_encryption_enabled",),
    expected=True,
    message="infrastructure_encryption_enabled is not true (it can only be set at creation)",
)
