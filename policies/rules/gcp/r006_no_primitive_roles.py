"""MLOPS_GCP_006: IAM grants no primitive roles (owner, editor, viewer)."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc

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
PRIMITIVE = ("roles/owner", "roles/editor", "roles/viewer")


@rule(
    id="MLOPS_GCP_006",
    name="IAM grants no primitive roles (owner, editor, viewer)",
    severity="critical",
    category="iam",
    applies_to=IAM_TYPES,
)
def check(d: Doc):
    for addr, b in d.of(*IAM_TYPES):
        ok = b.get("role") not in PRIMITIVE
        yield addr, ok, "" if ok else f"{b.get('role')} is a primitive role; grant a predefined or custom role"
