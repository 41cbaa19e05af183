"""`mlops-blueprint cost`'s library: the offline estimator lives in `blueprints/cost.py` (the policy
rule MLOPS_BP_007 uses it too, and policies may not import scripts); this module re-exports it."""

from mlops_blueprint.blueprints.cost import (  # noqa: F401
    PRICES,
    Estimate,
    Line,
    PriceMissing,
    estimate,
    estimate_blueprint,
    estimate_env,
    price_book,
    range_text,
    region_class,
    usd,
)
