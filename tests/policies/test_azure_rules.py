"""Edge cases of the Azure rules that one pass/fail fixture pair does not reach."""

import pytest

from mlops_blueprint.policies.rules.azure import references
from mlops_blueprint.policies.rules.azure.r013_role_assignments_are_resource_scoped import too_wide
from mlops_blueprint.policies.rules.azure.r014_subnets_deny_internet_inbound import denies_internet


@pytest.mark.parametrize(
    "scope, wide",
    [
        ("/subscriptions/00000000-0000-0000-0000-000000000000", True),
        ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-x", True),
        ("/subscriptions/${data.azurerm_client_config.c.subscription_id}", True),
        ("/providers/Microsoft.Management/managementGroups/root", True),
        ("${azurerm_resource_group.rg.id}", True),
        ("${data.azurerm_subscription.current.id}", True),
        ("", True),
        (None, True),
        ("${azurerm_key_vault.kv.id}", False),
        (
            "${azurerm_storage_account.a.id}/blobServices/default/containers/${azurerm_storage_data_lake_gen2_filesystem.z.name}",
            False,
        ),
        ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv", False),
    ],
)
def test_role_assignment_scope_width(scope, wide):
    assert too_wide(scope) is wide


def deny(priority=4096, **kw):
    return dict(
        {
            "direction": "Inbound",
            "access": "Deny",
            "protocol": "*",
            "source_address_prefix": "Internet",
            "destination_port_range": "*",
            "priority": priority,
        },
        **kw,
    )


@pytest.mark.parametrize(
    "rules, ok",
    [
        ([deny()], True),
        ([deny(), deny(100, access="Allow", destination_port_range="443")], False),  # an allow evaluated first
        ([deny(100), deny(200, access="Allow", destination_port_range="443")], True),  # the allow never matches
        ([deny(destination_port_range="22")], False),  # denies one port only
        ([deny(direction="Outbound")], False),
        ([deny(source_address_prefix="VirtualNetwork")], False),
        ([], False),
    ],
)
def test_nsg_denies_internet_inbound(rules, ok):
    assert denies_internet(rules) is ok


def test_references_include_data_sources():
    assert references({"a": ["${data.azurerm_subscription.s.id}", "${azurerm_key_vault.kv.id}/x"]}) == {
        "data.azurerm_subscription.s",
        "azurerm_key_vault.kv",
    }
