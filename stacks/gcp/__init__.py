"""Google Cloud: the cloud package. Everything GCP-specific is reached through `CLOUD`.

Its parts: the catalog (`catalog.py`), physical names (`names.py`), the stack with the google and
google-beta providers and the GCS backend (`stack.py`), the constructs (`modules/<component>/gcp.py`),
the policy rules (`policies/rules/gcp/`) and the glue (`scripts/glue/gcp.py`: state bootstrap,
verify, rollout). There is no embedded emulator for GCP. Importing this package loads no bindings.
"""

from __future__ import annotations

from mlops_blueprint.blueprints.registry import Cloud
from mlops_blueprint.stacks.gcp.catalog import CATALOG
from mlops_blueprint.stacks.gcp.names import GcpNames, name_checks


def environment_of(doc: dict) -> str:
    """The blueprint environment of a synthesized stack: the provider's default labels."""
    for p in doc.get("provider", {}).get("google", []):
        env = (p.get("default_labels") or {}).get("mlops_environment")
        if env:
            return str(env)
    return ""


CLOUD = Cloud(
    name="gcp",
    title="Google Cloud",
    catalog=CATALOG,
    names=GcpNames,
    name_checks=name_checks,
    target_fields={
        "project_id": "the GCP project the stacks deploy into",
        "billing_account": "the GCP billing account for the budget",
    },
    required_target_fields=("project_id",),
    stateful_types={
        "google_storage_bucket": "lake or registry bucket",
        "google_bigquery_dataset": "catalog or capture dataset",
        "google_artifact_registry_repository": "image repository",
        "google_vertex_ai_metadata_store": "model lineage store",
        "google_kms_crypto_key": "encryption key",
        "google_kms_key_ring": "key ring",
    },
    provider_keys=("google", "google-beta"),
    environment_of=environment_of,
    rules_package="mlops_blueprint.policies.rules.gcp",
    stack="mlops_blueprint.stacks.gcp.stack:GcpEnvironmentStack",
    cluster_stack="mlops_blueprint.stacks.gcp.cluster:GcpClusterStack",
    glue="mlops_blueprint.scripts.glue.gcp:GLUE",
    no_emulator_hint="synth and check run offline; verify and rollout need the cloud",
)
