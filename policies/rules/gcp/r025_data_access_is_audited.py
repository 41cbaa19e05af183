"""MLOPS_GCP_025: Reads and writes of lake objects and datasets are in the Data Access audit logs."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list

# resource type -> the service whose Data Access logs record its reads and writes
SERVICES = {"google_storage_bucket": "storage.googleapis.com", "google_bigquery_dataset": "bigquery.googleapis.com"}


@rule(
    id="MLOPS_GCP_025",
    name="Reads and writes of lake objects and datasets are in the Data Access audit logs",
    severity="high",
    category="baseline",
    applies_to=tuple(SERVICES),
)
def check(d: Doc):
    audited: set[str] = set()
    for _, cfg in d.of("google_project_iam_audit_config"):
        kinds = {c.get("log_type") for c in as_list(cfg.get("audit_log_config")) if not c.get("exempted_members")}
        if {"DATA_READ", "DATA_WRITE"} <= kinds:
            audited.add(str(cfg.get("service")))
    if "allServices" in audited:
        audited |= set(SERVICES.values())
    for rtype, service in SERVICES.items():
        for addr, _ in d.of(rtype):
            ok = service in audited
            yield addr, ok, "" if ok else f"no audit config logs DATA_READ and DATA_WRITE for {service}"
