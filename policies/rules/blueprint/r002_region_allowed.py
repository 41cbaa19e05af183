"""MLOPS_BP_002: The region is in the allow-list. A blueprint rule: yields (field path, passed, message).

The allow-list is the blueprint's `policies.allowed_regions`; without one, every region the target
cloud's catalog supports."""

from mlops_blueprint.blueprints import registry
from mlops_blueprint.policies.engine import rule


@rule(
    id="MLOPS_BP_002", name="The region is in the allow-list", severity="high", category="baseline", layer="blueprint"
)
def region_allowed(bp, env):
    allowed = bp.policies.allowed_regions or list(registry.get(bp.target.cloud).catalog.regions)
    ok = bp.target.region in allowed
    yield "target.region", ok, "" if ok else f"{bp.target.region} is not in the allow-list {allowed}"
