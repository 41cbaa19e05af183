"""Blueprint rules (layer a): pure functions of the validated Blueprint. Fast: no synth, no bindings.

Each yields (field path, passed, message) and is registered with a stable id.
"""

from __future__ import annotations

from blueprints import clouds
from policies.engine import rule


@rule(id="MLOPS_BP_001", name="Prod serving runs at least two replicas", severity="high", category="serving",
      layer="blueprint", cloud=None)
def prod_replicas(bp, env):
    if env != "prod" or not bp.components.serving:
        return
    for name, ep in bp.components.serving.endpoints.items():
        ok = ep.min_replicas >= 2
        yield f"components.serving.endpoints.{name}.min_replicas", ok, "" if ok else f"prod endpoint {name} has {ep.min_replicas} replica"


@rule(id="MLOPS_BP_002", name="The region is in the allow-list", severity="high", category="baseline",
      layer="blueprint", cloud=None)
def region_allowed(bp, env):
    allowed = bp.policies.allowed_regions or list(clouds.REGIONS[bp.target.cloud])
    ok = bp.target.region in allowed
    yield "target.region", ok, "" if ok else f"{bp.target.region} is not in the allow-list {allowed}"


@rule(id="MLOPS_BP_003", name="Owner, cost center and data classification tags are set", severity="medium",
      category="baseline", layer="blueprint", cloud=None)
def tags_present(bp, env):
    md = bp.metadata
    for f in ("owner", "cost_center", "data_classification"):
        ok = bool(getattr(md, f).strip())
        yield f"metadata.{f}", ok, "" if ok else f"{f} is empty"


@rule(id="MLOPS_BP_004", name="Every GPU pool has a finite maximum of at most 64 nodes", severity="high",
      category="training", layer="blueprint", cloud=None)
def pools_bounded(bp, env):
    for name, pool in (bp.components.training.pools.items() if bp.components.training else []):
        ok = pool.max_nodes <= 64
        yield f"components.training.pools.{name}.max_nodes", ok, "" if ok else f"max_nodes {pool.max_nodes} > 64"


@rule(id="MLOPS_BP_005", name="Confidential data is kept in remote, encrypted state", severity="high",
      category="baseline", layer="blueprint", cloud=None)
def confidential_state(bp, env):
    sensitive = bp.metadata.data_classification in ("confidential", "restricted")
    ok = not sensitive or bp.state.backend != "local"
    yield "state.backend", ok, "" if ok else "confidential data: terraform state may not be a local file"


@rule(id="MLOPS_BP_006", name="Production environments protect their stateful resources", severity="critical",
      category="baseline", layer="blueprint", cloud=None)
def prod_protected(bp, env):
    if env == "prod":
        ok = bp.environments["prod"].protect_stateful
        yield "environments.prod.protect_stateful", ok, "" if ok else "prod must keep protect_stateful: true"
