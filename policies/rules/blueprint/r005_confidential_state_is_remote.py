"""MLOPS_BP_005: Confidential data is kept in remote, encrypted state. A blueprint rule: yields (field path, passed, message)."""

from mlops_blueprint.policies.engine import rule


@rule(
    id="MLOPS_BP_005",
    name="Confidential data is kept in remote, encrypted state",
    severity="high",
    category="baseline",
    layer="blueprint",
)
def confidential_state(bp, env):
    sensitive = bp.metadata.data_classification in ("confidential", "restricted")
    ok = not sensitive or bp.state.backend != "local"
    yield "state.backend", ok, "" if ok else "confidential data: terraform state may not be a local file"
