"""The GCP cluster stack `<blueprint>-<env>-cluster`: what needs the Kubernetes API of the GKE cluster
the cloud stack made. Applied after the cloud stack (from inside the platform network: the control plane
has only a private endpoint), destroyed before it; its own state beside the cloud stack's. The
kubernetes and helm providers find the cluster by name (`google_container_cluster`) and authenticate
with the deploying principal's OAuth token (`google_client_config`).

Personas: `roles/container.clusterViewer` (the cloud stack, `grant_submit`) lets a persona get
credentials; inside, a Role with the submit rules in the training namespace is bound to the persona's
service account (a GKE `User` subject is the Google identity's e-mail). Personas without `training`
get no binding: the API server refuses them everything.
"""

from __future__ import annotations

from cdktn import Fn, GcsBackend, LocalBackend, TerraformOutput, TerraformStack
from cdktn_provider_google.data_google_client_config import DataGoogleClientConfig
from cdktn_provider_google.data_google_container_cluster import DataGoogleContainerCluster
from cdktn_provider_google.provider import GoogleProvider
from cdktn_provider_helm.provider import HelmProvider
from cdktn_provider_kubernetes.provider import KubernetesProvider
from constructs import Construct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.blueprints.model import PERSONAS
from mlops_blueprint.modules.cluster import ClusterLayer, ClusterLayerProps, cluster_labels
from mlops_blueprint.modules.training.gcp import TRAINING_NAMESPACE
from mlops_blueprint.stacks.gcp.names import GcpNames
from mlops_blueprint.stacks.gcp.stack import labels_for
from mlops_blueprint.stacks.settings import DeploySettings

RBAC_API = "rbac.authorization.k8s.io"


class GcpClusterStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp = env.blueprint
        training = bp.components.training
        project, region = bp.target.project_id, bp.target.region
        if training is None or project is None:  # stacks.build and the validator refuse these first
            raise ValueError("the GCP cluster stack needs components.training and target.project_id")
        n = GcpNames(bp.metadata.name, env.name)
        GoogleProvider(self, "google", project=project, region=region, default_labels=labels_for(env))
        if bp.state.backend_for("gcp") == "local":
            LocalBackend(self, path=f"terraform.{n.prefix}-cluster.tfstate")
        else:
            GcsBackend(self, bucket=n.state_bucket(bp.state.bucket), prefix=f"{bp.metadata.name}/{env.name}/cluster")
        cluster = DataGoogleContainerCluster(self, "cluster", name=n.gke("training"), location=region)
        client = DataGoogleClientConfig(self, "client")
        connection = {
            "host": f"https://{cluster.endpoint}",
            "cluster_ca_certificate": Fn.base64decode(cluster.master_auth.get(0).cluster_ca_certificate),
            "token": client.access_token,
        }
        KubernetesProvider(self, "kubernetes", **connection)
        HelmProvider(self, "helm", kubernetes=connection)

        def email(account_id: str) -> str:
            return f"{account_id}@{project}.iam.gserviceaccount.com"

        access = bp.access
        submitters = {
            p: [{"kind": "User", "name": email(n.persona_account(p)), "api_group": RBAC_API}]
            for p in PERSONAS
            if getattr(access, p).training
        }
        md = bp.metadata
        layer = ClusterLayer(
            self,
            "k8s",
            props=ClusterLayerProps(
                spec=training,
                prefix=n.prefix,
                namespace=TRAINING_NAMESPACE,
                labels=cluster_labels(md.name, env.name, md.owner, md.cost_center, md.data_classification),
                submitters=submitters,
                # Workload Identity: the cloud stack lets `<namespace>/trainer` act as this service account.
                trainer_annotations={"iam.gke.io/gcp-service-account": email(n.service_account("trainer"))},
                mig_as_gpu=True,
                # the cloud stack's Artifact Registry remote repository of registry.k8s.io (no NAT)
                k8s_registry_mirror=f"{bp.target.region}-docker.pkg.dev/{project}/{n.k8s_mirror}",
            ),
        )
        TerraformOutput(self, "cluster_queues", value=dict(layer.queues.queues))
        TerraformOutput(self, "local_queues", value={p: f"{TRAINING_NAMESPACE}/{p}" for p in training.pools})
