"""Change rules on a Terraform plan JSON: the data-loss guard.

A destroy or replace of a stateful resource fails the gate, including when its definition was
removed from the blueprint (which `prevent_destroy` cannot catch, since the block is gone with it).
Only an explicit, named allowance (`--allow-destroy ADDRESS_OR_COMPONENT`) lets it through, and it
is shown in the report.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlops_blueprint.policies.engine import Finding, rule

STATEFUL_TYPES = {
    "aws_s3_bucket": "lake or registry bucket",
    "aws_glue_catalog_database": "catalog database",
    "aws_ecr_repository": "image repository",
    "aws_sagemaker_model_package_group": "model registry group",
    "aws_kms_key": "encryption key",
    "aws_dynamodb_table": "state lock table",
    "google_storage_bucket": "lake or registry bucket",
    "google_bigquery_dataset": "catalog or capture dataset",
    "google_artifact_registry_repository": "image repository",
    "google_vertex_ai_metadata_store": "model lineage store",
    "google_kms_crypto_key": "encryption key",
    "google_kms_key_ring": "key ring",
}


class NotAPlan(ValueError):
    """The file is not Terraform plan JSON (a user error)."""


def validate_plan(plan: object, source: str) -> dict:
    if not isinstance(plan, dict) or "format_version" not in plan or "resource_changes" not in plan and "planned_values" not in plan:
        raise NotAPlan(f"{source} is not Terraform plan JSON (expected the output of `terraform show -json PLANFILE`, "
                       "with format_version and resource_changes)")
    return plan


def subject_of(change: dict) -> str:
    """`component.logical` from the construct-path-derived name (data_lake_raw_bucket_ABC -> data_lake.raw)."""
    name = change.get("name", "")
    for component in ("data_lake", "catalog", "registry", "serving", "training", "monitoring", "baseline"):
        if name.startswith(component + "_"):
            rest = name[len(component) + 1:].split("_")[0]
            return f"{component}.{rest}"
    return change.get("address", name)


@rule(id="MLOPS_CHG_001", name="No stateful resource is destroyed or replaced without an explicit allowance",
      severity="critical", category="change", layer="change", cloud=None)
def data_loss_guard(plan: dict, allow: Iterable[str] = ()):
    allowed = set(allow)
    for rc in plan.get("resource_changes", []):
        kind = STATEFUL_TYPES.get(rc.get("type"))
        actions = rc.get("change", {}).get("actions", [])
        if kind is None or rc.get("mode") == "data":
            continue
        destroys = "delete" in actions
        address, subject = rc["address"], subject_of(rc)
        if not destroys:
            yield address, True, ""
            continue
        verb = "replace" if "create" in actions else "destroy"
        if address in allowed or subject in allowed or subject.split(".")[0] in allowed:
            yield address, True, f"{verb} of {kind} allowed explicitly"
        else:
            yield address, False, (f"plan would {verb} {kind} {address}; data is lost. If intended, pass "
                                   f"--allow-destroy {subject}")


def allowances_used(plan: dict, allow: Iterable[str]) -> list[str]:
    out = []
    allowed = set(allow)
    for rc in plan.get("resource_changes", []):
        if rc.get("type") in STATEFUL_TYPES and "delete" in rc.get("change", {}).get("actions", []):
            s = subject_of(rc)
            hit = next((a for a in (rc["address"], s, s.split(".")[0]) if a in allowed), None)
            if hit:
                out.append(f"{rc['address']}: destroy allowed by --allow-destroy {hit}")
    return out


def findings_for_plan(plan: dict, allow: Iterable[str]) -> list[Finding]:
    from mlops_blueprint.policies.engine import all_rules, run_rule

    r = all_rules()["MLOPS_CHG_001"]
    subjects = {rc["address"]: subject_of(rc) for rc in plan.get("resource_changes", [])}
    return run_rule(r, lambda a: subjects.get(a, a), plan, list(allow))
