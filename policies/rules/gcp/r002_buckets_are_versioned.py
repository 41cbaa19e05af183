"""MLOPS_GCP_002: GCS buckets keep object versions."""

from mlops_blueprint.policies.checks import value_rule

value_rule(
    id="MLOPS_GCP_002",
    name="GCS buckets keep object versions",
    severity="medium",
    category="data_lake",
    resource_type="google_storage_bucket",
    path=("versioning", "enabled"),
    expected=True,
    message="versioning is off: an overwrite or delete loses data",
)
