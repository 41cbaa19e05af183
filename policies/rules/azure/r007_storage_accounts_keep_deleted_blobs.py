"""MLOPS_AZ_007: Storage accounts keep deleted blobs and containers for at least 7 days."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block

MIN_DAYS = 7


@rule(
    id="MLOPS_AZ_007",
    name="Storage accounts keep deleted blobs and containers for at least 7 days",
    severity="medium",
    category="data_lake",
    applies_to=("azurerm_storage_account",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_storage_account"):
        blob = block(b, "blob_properties", "delete_retention_policy").get("days")
        container = block(b, "blob_properties", "container_delete_retention_policy").get("days")
        ok = all(isinstance(v, int) and v >= MIN_DAYS for v in (blob, container))
        yield (
            addr,
            ok,
            ""
            if ok
            else (
                f"blob soft delete {blob!r} days, container soft delete {container!r} days: "
                f"both need at least {MIN_DAYS}"
            ),
        )
