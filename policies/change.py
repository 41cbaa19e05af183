"""The change layer's plan helpers: read a Terraform plan JSON, name its resources, run the change rules.

The change rules themselves live one per file under `policies/rules/change/` (the data-loss guard
is MLOPS_CHG_001). This module imports the engine; the engine never imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.policies.engine import Finding, all_rules, run_rule

COMPONENTS = ("data_lake", "catalog", "registry", "serving", "training", "monitoring", "baseline")


class NotAPlan(UserError):
    """The file is not Terraform plan JSON (bad input: exit 2)."""


def validate_plan(plan: object, source: str) -> dict:
    """`plan` itself when it looks like `terraform show -json PLANFILE` output; NotAPlan otherwise."""
    if (
        not isinstance(plan, dict)
        or "format_version" not in plan
        or "resource_changes" not in plan
        and "planned_values" not in plan
    ):
        raise NotAPlan(
            f"{source} is not Terraform plan JSON (expected the output of `terraform show -json PLANFILE`, "
            "with format_version and resource_changes)"
        )
    return plan


def subject_of(change: dict) -> str:
    """`component.logical` from the construct-path-derived name (data_lake_raw_bucket_ABC -> data_lake.raw)."""
    name = change.get("name", "")
    for component in COMPONENTS:
        if name.startswith(component + "_"):
            rest = name[len(component) + 1 :].split("_")[0]
            return f"{component}.{rest}"
    return change.get("address", name)


def allowance_for(change: dict, allow: Iterable[str]) -> str | None:
    """The allowance that names this resource change: its address, its `component.logical`, or its component."""
    allowed = set(allow)
    subject = subject_of(change)
    return next((a for a in (change["address"], subject, subject.split(".")[0]) if a in allowed), None)


def allowances_used(plan: dict, allow: Iterable[str]) -> list[str]:
    """The allowances that let the destroy or replace of a stateful resource through (for the report)."""
    stateful = registry.stateful_types()
    allow = list(allow)
    out = []
    for rc in plan.get("resource_changes", []):
        if rc.get("type") in stateful and "delete" in rc.get("change", {}).get("actions", []):
            hit = allowance_for(rc, allow)
            if hit:
                out.append(f"{rc['address']}: destroy allowed by --allow-destroy {hit}")
    return out


def findings_for_plan(plan: dict, allow: Iterable[str]) -> list[Finding]:
    """Every change rule on the plan. Change rules run whatever the blueprint's packs name: the
    data-loss guard holds in every environment and every pack."""
    allow = list(allow)
    subjects = {rc["address"]: subject_of(rc) for rc in plan.get("resource_changes", [])}
    out = []
    for r in all_rules().values():
        if r.layer == "change":
            out += run_rule(r, lambda a: subjects.get(a, a), plan, allow)
    return out
