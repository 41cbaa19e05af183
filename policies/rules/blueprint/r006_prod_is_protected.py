"""MLOPS_BP_006: Production environments protect their stateful resources. A blueprint rule: yields (field path, passed, message)."""

from mlops_blueprint.policies.engine import rule


@rule(
    id="MLOPS_BP_006",
    name="Production environments protect their stateful resources",
    severity="critical",
    category="baseline",
    layer="blueprint",
)
def prod_protected(bp, env):
    if env == "prod":
        ok = bp.environments["prod"].protect_stateful
        yield "environments.prod.protect_stateful", ok, "" if ok else "prod must keep protect_stateful: true"
