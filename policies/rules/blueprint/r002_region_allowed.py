"""MLOPS_BP_002: The region is in the allow-list. A blueprint rule: yields (field path, passed, message)."""

from mlops_blueprint.blueprints import clouds
from mlops_blueprint.policies.engine import rule


@rule(id="MLOPS_BP_002", name="The region is in the allow-list", severity="high", category="baseline",
      layer="blueprint", cloud=None)
def region_allowed(bp, env):
    allowed = bp.policies.allowed_regions or list(clouds.REGIONS[bp.target.cloud])
    ok = bp.target.region in allowed
    yield "target.region", ok, "" if ok else f"{bp.target.region} is not in the allow-list {allowed}"
