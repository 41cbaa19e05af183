"""MLOPS_BP_004: Every GPU pool has a finite maximum of at most 64 nodes. A blueprint rule: yields (field path, passed, message)."""

from mlops_blueprint.policies.engine import rule


@rule(
    id="MLOPS_BP_004",
    name="Every GPU pool has a finite maximum of at most 64 nodes",
    severity="high",
    category="training",
    layer="blueprint",
)
def pools_bounded(bp, env):
    for name, pool in bp.components.training.pools.items() if bp.components.training else []:
        ok = pool.max_nodes <= 64
        yield f"components.training.pools.{name}.max_nodes", ok, "" if ok else f"max_nodes {pool.max_nodes} > 64"
