"""Serving on GCP: a Vertex AI endpoint per blueprint endpoint (CMEK, Private Service Connect when
private, request-response logging to BigQuery), the service account deployed models run as, and
endpoint-scoped roles for invoking and deploying. Models are deployed by `mlops-blueprint rollout`.

A private endpoint is reached through a PSC endpoint (a forwarding rule with an internal IP of the
platform subnet) that Vertex AI creates in the platform network itself (`psc_automation_configs`), under
the network's service connection policy for the `gcp-vertexai` service class, which this construct makes
once per environment. Callers inside the network send requests to that IP."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle
from cdktn_provider_google.bigquery_dataset import BigqueryDataset
from cdktn_provider_google.network_connectivity_service_connection_policy import (
    NetworkConnectivityServiceConnectionPolicy,
)
from cdktn_provider_google.project_iam_custom_role import ProjectIamCustomRole
from cdktn_provider_google.project_iam_member import ProjectIamMember
from cdktn_provider_google.service_account import ServiceAccount
from cdktn_provider_google.service_account_iam_member import ServiceAccountIamMember
from cdktn_provider_google.vertex_ai_endpoint import VertexAiEndpoint
from cdktn_provider_google.vertex_ai_endpoint import (
    VertexAiEndpointPrivateServiceConnectConfigPscAutomationConfigs as PscAutomation,
)
from cdktn_provider_google_beta.google_vertex_ai_endpoint_iam_member import GoogleVertexAiEndpointIamMember
from constructs import Construct

from mlops_blueprint.blueprints.model import Serving
from mlops_blueprint.modules.baseline.gcp import GcpBaseline
from mlops_blueprint.modules.gcp_common import custom_role, protect
from mlops_blueprint.modules.registry.gcp import GcpRegistry
from mlops_blueprint.stacks.gcp.catalog import CATALOG
from mlops_blueprint.stacks.gcp.names import GcpNames

# The service class Vertex AI's PSC automation creates consumer endpoints under.
VERTEX_SERVICE_CLASS = "gcp-vertexai"
INVOKE_PERMISSIONS = ("aiplatform.endpoints.predict", "aiplatform.endpoints.get")
DEPLOY_PERMISSIONS = (
    "aiplatform.endpoints.get",
    "aiplatform.endpoints.deploy",
    "aiplatform.endpoints.undeploy",
    "aiplatform.endpoints.update",
    "aiplatform.endpoints.predict",
)
MODEL_DEPLOY_PERMISSIONS = (
    "aiplatform.models.get",
    "aiplatform.models.deploy",
    "aiplatform.models.undeploy",
    "aiplatform.operations.list",
)


@dataclass(frozen=True)
class ServingProps:
    """spec: endpoints (omitted: cpu-medium, 1..2 replicas, capture 100 % of requests, private)."""

    naming: GcpNames
    spec: Serving
    baseline: GcpBaseline
    registry: GcpRegistry
    protect: bool


class GcpServing(Construct):
    def __init__(self, scope: Construct, id: str, *, props: ServingProps):
        super().__init__(scope, id)
        n, b, reg = props.naming, props.baseline, props.registry
        self._baseline = b
        for name, ep in props.spec.endpoints.items():
            if CATALOG.serving_instance(ep.size) is None:
                raise ValueError(f"endpoint {name!r}: size {ep.size!r} has no GCP machine type")
        self.account = ServiceAccount(
            self, "runtime", account_id=n.service_account("serving"), display_name=f"deployed models of {n.prefix}"
        )
        reg.grant_pull(self.account, id="serving-reads-registry")
        self.capture = BigqueryDataset(
            self,
            "capture",
            dataset_id=n.underscored("inference_capture"),
            location=b.region,
            description="Requests and responses of the endpoints (request-response logging)",
            default_encryption_configuration={"kms_key_name": b.key("ml")},
            delete_contents_on_destroy=not props.protect,
            lifecycle=protect(props.protect),
            depends_on=b.with_key("ml"),
        )
        self.endpoints: dict[str, VertexAiEndpoint] = {}
        self.names: dict[str, str] = {}
        # Private endpoints: Vertex AI creates each one's PSC endpoint (forwarding rule + internal IP in the
        # platform subnet) in the platform network, as the service connection policy allows.
        self.psc_policy: NetworkConnectivityServiceConnectionPolicy | None = None
        if any(ep.private for ep in props.spec.endpoints.values()):
            # networkconnectivity.googleapis.com: enabled by the baseline, waited for (gcp_common.wait_for_apis)
            self.psc_policy = NetworkConnectivityServiceConnectionPolicy(
                self,
                "vertex-psc-policy",
                name=n.gcp_id("vertex-psc", what="service connection policy"),
                location=b.region,
                service_class=VERTEX_SERVICE_CLASS,
                network=b.network.id,
                description="Lets Vertex AI create the private endpoints' PSC forwarding rules in the platform subnet",
                psc_config={"subnetworks": [b.subnet.id]},
            )
        for name, ep in props.spec.endpoints.items():
            display = n.endpoint_display_name(name)
            table = f"{name.replace('-', '_')}_requests"
            self.endpoints[name] = VertexAiEndpoint(
                self,
                name,
                name=n.endpoint_id(name),
                display_name=display,
                location=b.region,
                region=b.region,
                description=f"{ep.model} ({ep.size}, {ep.min_replicas}-{ep.max_replicas} replicas)",
                encryption_spec={"kms_key_name": b.key("ml")},
                private_service_connect_config={
                    "enable_private_service_connect": True,
                    "project_allowlist": [b.project],
                    "psc_automation_configs": [PscAutomation(project_id=b.project, network=b.network.id)],
                }
                if ep.private
                else None,
                dedicated_endpoint_enabled=None if ep.private else True,
                predict_request_response_logging_config={
                    "enabled": ep.capture_requests,
                    "sampling_rate": ep.capture_percent / 100,
                    "bigquery_destination": {"output_uri": f"bq://{b.project}.{self.capture.dataset_id}.{table}"},
                },
                labels={"mlops-endpoint": name, "mlops-model": ep.model},
                depends_on=[*b.with_key("ml"), *([self.psc_policy] if ep.private and self.psc_policy else [])],
                # `rollout` owns the traffic split once models are deployed
                lifecycle=TerraformResourceLifecycle(ignore_changes=["traffic_split"]),
            )
            self.names[name] = display
        self.invoker = custom_role(
            self,
            "invoker-role",
            naming=n,
            role="endpoint invoker",
            permissions=INVOKE_PERMISSIONS,
            description="Send prediction requests to the platform's endpoints",
        )
        self.deployer = custom_role(
            self,
            "deployer-role",
            naming=n,
            role="endpoint deployer",
            permissions=DEPLOY_PERMISSIONS,
            description="Deploy, undeploy and split traffic on the platform's endpoints",
        )
        self.model_deployer = custom_role(
            self,
            "model-deployer-role",
            naming=n,
            role="model deployer",
            permissions=MODEL_DEPLOY_PERMISSIONS,
            description="Read and deploy model versions (the endpoint side is endpoint-scoped)",
        )

    def _on_endpoints(self, member: str, role: ProjectIamCustomRole, id: str) -> None:
        for name, ep in self.endpoints.items():
            GoogleVertexAiEndpointIamMember(
                self,
                f"{id}-{name}",
                project=self._baseline.project,
                location=self._baseline.region,
                endpoint=ep.name,
                role=role.name,
                member=member,
            )

    def grant_invoke(self, principal: ServiceAccount, *, id: str) -> None:
        """Predict on each endpoint, granted on the endpoint itself."""
        member = principal.member
        self._on_endpoints(member, self.invoker, id)

    def grant_deploy(self, principal: ServiceAccount, *, id: str) -> None:
        """Roll model versions out: deploy/undeploy/traffic on each endpoint, deploy model versions,
        and act as the runtime service account the deployed models run as."""
        member = principal.member
        self._on_endpoints(member, self.deployer, id)
        ProjectIamMember(
            self, f"{id}-models", project=self._baseline.project, role=self.model_deployer.name, member=member
        )
        ServiceAccountIamMember(
            self,
            f"{id}-act-as",
            service_account_id=self.account.name,
            role="roles/iam.serviceAccountUser",
            member=member,
        )
