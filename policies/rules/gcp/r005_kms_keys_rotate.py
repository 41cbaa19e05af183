"""MLOPS_GCP_005: KMS keys rotate at least every 90 days."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_GCP_005",
    name="KMS keys rotate at least every 90 days",
    severity="high",
    category="baseline",
    applies_to=("google_kms_crypto_key",),
)
def check(d: Doc):
    for addr, b in d.of("google_kms_crypto_key"):
        period = str(b.get("rotation_period") or "")
        ok = period.endswith("s") and period[:-1].isdigit() and int(period[:-1]) <= 7776000
        yield addr, ok, "" if ok else f"rotation_period {period or 'unset'}: rotate at most every 7776000s (90 days)"
