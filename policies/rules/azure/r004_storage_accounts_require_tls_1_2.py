"""MLOPS_AZ_004: Storage accounts accept HTTPS with TLS 1.2 or later only."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AZ_004",
    name="Storage accounts accept HTTPS with TLS 1.2 or later only",
    severity="high",
    category="data_lake",
    applies_to=("azurerm_storage_account",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_storage_account"):
        tls = b.get("min_tls_version")
        https = b.get("https_traffic_only_enabled", b.get("enable_https_traffic_only"))
        ok = tls in ("TLS1_2", "TLS1_3") and https is not False
        yield (
            addr,
            ok,
            "" if ok else f"min_tls_version {tls!r}, https_traffic_only_enabled {https!r}: require TLS1_2 over HTTPS",
        )
