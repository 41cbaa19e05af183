"""MLOPS_BP_001: Prod serving runs at least two replicas. A blueprint rule: yields (field path, passed, message)."""

from mlops_blueprint.policies.engine import rule


@rule(
    id="MLOPS_BP_001",
    name="Prod serving runs at least two replicas",
    severity="high",
    category="serving",
    layer="blueprint",
)
def prod_replicas(bp, env):
    if env != "prod" or not bp.components.serving:
        return
    for name, ep in bp.components.serving.endpoints.items():
        ok = ep.min_replicas >= 2
        yield (
            f"components.serving.endpoints.{name}.min_replicas",
            ok,
            "" if ok else f"prod endpoint {name} has {ep.min_replicas} replica",
        )
