"""MLOPS_BP_003: Owner, cost center and data classification tags are set. A blueprint rule: yields (field path, passed, message)."""

from mlops_blueprint.policies.engine import rule


@rule(
    id="MLOPS_BP_003",
    name="Owner, cost center and data classification tags are set",
    severity="medium",
    category="baseline",
    layer="blueprint",
)
def tags_present(bp, env):
    md = bp.metadata
    for f in ("owner", "cost_center", "data_classification"):
        ok = bool(getattr(md, f).strip())
        yield f"metadata.{f}", ok, "" if ok else f"{f} is empty"
