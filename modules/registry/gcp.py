"""The model registry on GCP: an Artifact Registry repository per model (images), a model-artifact
bucket, a Vertex AI metadata store (lineage), and a model-publisher role for the Vertex AI Model
Registry (model versions are uploaded by `mlops-blueprint rollout`, not by Terraform)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_google.artifact_registry_repository import (
    ArtifactRegistryRepository,
)
from cdktn_provider_google.artifact_registry_repository import (
    ArtifactRegistryRepositoryCleanupPolicies as CleanupPolicy,
)
from cdktn_provider_google.artifact_registry_repository_iam_member import ArtifactRegistryRepositoryIamMember
from cdktn_provider_google.project_iam_member import ProjectIamMember
from cdktn_provider_google.service_account import ServiceAccount
from cdktn_provider_google_beta.google_vertex_ai_metadata_store import GoogleVertexAiMetadataStore
from constructs import Construct

from mlops_blueprint.blueprints.model import Registry
from mlops_blueprint.modules.baseline.gcp import GcpBaseline
from mlops_blueprint.modules.gcp_common import BucketProps, SecureBucket, custom_role, protect
from mlops_blueprint.stacks.gcp.names import GcpNames

# What publishing a model version needs in the Vertex AI Model Registry, and nothing else.
PUBLISH_PERMISSIONS = (
    "aiplatform.models.upload",
    "aiplatform.models.get",
    "aiplatform.models.list",
    "aiplatform.models.update",
    "aiplatform.operations.list",
    "aiplatform.artifacts.create",
    "aiplatform.artifacts.get",
    "aiplatform.artifacts.list",
    "aiplatform.metadataStores.get",
)


@dataclass(frozen=True)
class RegistryProps:
    """spec: models (omitted: immutable tags, vulnerability scanning, keep 30 images). protect: prevent_destroy."""

    naming: GcpNames
    spec: Registry
    baseline: GcpBaseline
    protect: bool


class GcpRegistry(Construct):
    def __init__(self, scope: Construct, id: str, *, props: RegistryProps):
        super().__init__(scope, id)
        n, b, spec = props.naming, props.baseline, props.spec
        self._baseline, self.naming = b, n
        self.artifacts = SecureBucket(
            self,
            "artifacts",
            props=BucketProps(
                name=n.artifacts_bucket,
                location=b.region,
                kms_key=b.key("ml"),
                protect=props.protect,
                depends_on=tuple(b.with_key("ml")),
            ),
        )
        self.repositories: dict[str, ArtifactRegistryRepository] = {}
        for model in spec.models:
            self.repositories[model] = ArtifactRegistryRepository(
                self,
                f"repo-{model}",
                repository_id=n.repository(model),
                location=b.region,
                format="DOCKER",
                mode="STANDARD_REPOSITORY",
                description=f"Images of {model}",
                kms_key_name=b.key("ml"),
                docker_config={"immutable_tags": spec.immutable_tags},
                vulnerability_scanning_config={"enablement_config": "INHERITED" if spec.image_scanning else "DISABLED"},
                cleanup_policy_dry_run=False,
                cleanup_policies=[
                    CleanupPolicy(id="delete-old", action="DELETE", condition={"tag_state": "ANY"}),
                    CleanupPolicy(
                        id=f"keep-newest-{spec.keep_images}",
                        action="KEEP",
                        most_recent_versions={"keep_count": spec.keep_images},
                    ),
                ],
                lifecycle=protect(props.protect),
                depends_on=b.with_key("ml"),
            )
        self.metadata_store = GoogleVertexAiMetadataStore(
            self,
            "metadata",
            name=n.metadata_store,
            region=b.region,
            project=b.project,
            description=f"Lineage of {n.prefix}'s models",
            encryption_spec={"kms_key_name": b.key("ml")},
            lifecycle=protect(props.protect),
            depends_on=b.with_key("ml"),
        )
        self.publisher = custom_role(
            self,
            "publisher-role",
            naming=n,
            role="model publisher",
            permissions=PUBLISH_PERMISSIONS,
            description="Upload and label model versions in the Vertex AI Model Registry",
        )

    def model_display_name(self, model: str) -> str:
        return self.naming.model_display_name(model)

    def image_uri(self, model: str, tag: str) -> str:
        repo = self.repositories[model]
        return f"{self._baseline.region}-docker.pkg.dev/{self._baseline.project}/{repo.repository_id}/{model}:{tag}"

    def grant_pull(self, principal: ServiceAccount, *, id: str) -> None:
        """Read images, model versions and artifacts: what serving, nodes and scientists need."""
        self._grant(
            principal, id, images="roles/artifactregistry.reader", write=False, vertex="roles/aiplatform.viewer"
        )

    def grant_push(self, principal: ServiceAccount, *, id: str) -> None:
        """Publish images, upload model versions and artifacts: what ML engineers need."""
        self._grant(principal, id, images="roles/artifactregistry.writer", write=True, vertex=self.publisher.name)

    def _grant(self, principal: ServiceAccount, id: str, *, images: str, write: bool, vertex: str) -> None:
        """`images` on every model's repository, artifact reads (and writes), `vertex` on the project."""
        member = principal.member
        for model, repo in self.repositories.items():
            ArtifactRegistryRepositoryIamMember(
                self, f"{id}-{model}", repository=repo.name, location=repo.location, role=images, member=member
            )
        self.artifacts.grant(member, read=True, write=write, id=f"{id}-artifacts")
        ProjectIamMember(self, f"{id}-vertex", project=self._baseline.project, role=vertex, member=member)
