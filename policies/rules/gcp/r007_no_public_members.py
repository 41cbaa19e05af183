"""MLOPS_GCP_007: IAM grants nothing to allUsers or allAuthenticatedUsers."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list

IAM_TYPES = (
    "google_project_iam_member",
    "google_project_iam_binding",
    "google_storage_bucket_iam_member",
    "google_bigquery_dataset_iam_member",
    "google_artifact_registry_repository_iam_member",
    "google_service_account_iam_member",
    "google_dataplex_lake_iam_member",
    "google_vertex_ai_endpoint_iam_member",
    "google_kms_crypto_key_iam_member",
)


@rule(
    id="MLOPS_GCP_007",
    name="IAM grants nothing to allUsers or allAuthenticatedUsers",
    severity="critical",
    category="iam",
    applies_to=IAM_TYPES,
)
def check(d: Doc):
    for addr, b in d.of(*IAM_TYPES):
        members = as_list(b.get("member")) + as_list(b.get("members"))
        ok = not any(m in ("allUsers", "allAuthenticatedUsers") for m in members)
        yield addr, ok, "" if ok else "grants access to the public"
