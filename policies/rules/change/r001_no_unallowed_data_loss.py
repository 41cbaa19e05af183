"""MLOPS_CHG_001: the data-loss guard. A change rule: yields (terraform address, passed, message).

A destroy or replace of a stateful resource (every registered cloud's `stateful_types`: lake,
registry, catalog, keys, state) fails, including when its definition was removed from the blueprint,
which `prevent_destroy` cannot catch since the block is gone with it. An explicit allowance
(`--allow-destroy ADDRESS_OR_COMPONENT`) lets it through; `policies.change.allowances_used` lists
the allowances that did, for the report.
"""

from collections.abc import Iterable

from mlops_blueprint.blueprints import registry
from mlops_blueprint.policies.change import allowance_for, subject_of
from mlops_blueprint.policies.engine import rule


@rule(
    id="MLOPS_CHG_001",
    name="No stateful resource is destroyed or replaced without an explicit allowance",
    severity="critical",
    category="change",
    layer="change",
)
def data_loss_guard(plan: dict, allow: Iterable[str] = ()):
    stateful = registry.stateful_types()
    allow = list(allow)
    for rc in plan.get("resource_changes", []):
        kind = stateful.get(rc.get("type"))
        if kind is None or rc.get("mode") == "data":
            continue
        actions = rc.get("change", {}).get("actions", [])
        address = rc["address"]
        if "delete" not in actions:
            yield address, True, ""
            continue
        verb = "replace" if "create" in actions else "destroy"
        if allowance_for(rc, allow):
            yield address, True, f"{verb} of {kind} allowed explicitly"
        else:
            yield (
                address,
                False,
                (
                    f"plan would {verb} {kind} {address}; data is lost. If intended, pass "
                    f"--allow-destroy {subject_of(rc)}"
                ),
            )
