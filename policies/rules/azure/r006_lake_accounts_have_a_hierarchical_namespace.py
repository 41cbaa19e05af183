"""MLOPS_AZ_006: Lake storage accounts have a hierarchical namespace (ADLS Gen2)."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AZ_006",
    name="Lake storage accounts have a hierarchical namespace (ADLS Gen2)",
    severity="medium",
    category="data_lake",
    applies_to=("azurerm_storage_account",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_storage_account"):
        lake = d.subject(addr).split(".")[0] == "data_lake" or bool(
            d.referencing("azurerm_storage_data_lake_gen2_filesystem", addr, "storage_account_id")
        )
        if not lake:
            continue
        ok = b.get("is_hns_enabled") is True
        yield (
            addr,
            ok,
            "" if ok else "is_hns_enabled is not true: no directories, atomic renames or POSIX ACLs for the lake",
        )
