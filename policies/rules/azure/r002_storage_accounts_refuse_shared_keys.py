"""MLOPS_AZ_002: Storage accounts accept Entra ID only, no shared keys."""

from mlops_blueprint.policies.checks import value_rule

value_rule(
    id="MLOPS_AZ_002",
    name="Storage accounts accept Entra ID only, no shared keys",
    severity="high",
    category="data_lake",
    resource_type="azurerm_storage_account",
    path=("shared_access_key_enabled",),
    expected=False,
    message="shared_access_key_enabled is not false: account keys and SAS tokens bypass RBAC",
)
