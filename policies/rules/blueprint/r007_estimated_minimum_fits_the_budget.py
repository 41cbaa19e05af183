"""MLOPS_BP_007: The estimated minimum monthly cost fits the budget. A blueprint rule: yields (field path, passed, message).

The estimate is the offline one of `mlops-blueprint cost` (`blueprints/cost.py`) at minimum scale. Two levels:
- above `baseline.budget.monthly_limit_usd`: a warning. The finding passes (the gate is not failed at any
  `--min-severity`) and carries a message starting with "warning:", which `cost` and the JSON report show;
- above the limit by more than `alert_at_percent` (minimum > limit x (1 + alert_at_percent / 100)): a failure
  at severity high. Raise the budget (per environment through an override) or shrink the minimum scale.
"""

from mlops_blueprint.policies.engine import rule


@rule(
    id="MLOPS_BP_007",
    name="The estimated minimum monthly cost fits the budget",
    severity="high",
    category="cost",
    layer="blueprint",
)
def minimum_fits_budget(bp, env):
    from mlops_blueprint.blueprints.cost import estimate

    est = estimate(bp, env)
    limit, pct = bp.baseline.budget.monthly_limit_usd, bp.baseline.budget.alert_at_percent
    where = "baseline.budget.monthly_limit_usd"
    if est.budget_status == "fail":
        yield (
            where,
            False,
            f"estimated minimum {est.min_usd:,.2f} USD/month exceeds the budget {limit:,} USD by more than "
            f"{pct} % (limit {est.fail_above_usd:,.2f}); raise the budget or lower min_nodes/min_replicas",
        )
    elif est.budget_status == "warn":
        yield where, True, f"warning: estimated minimum {est.min_usd:,.2f} USD/month exceeds the budget {limit:,} USD"
    else:
        yield where, True, ""
