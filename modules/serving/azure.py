"""Serving on Azure: one Azure ML managed online endpoint per blueprint endpoint (azapi: azurerm has
no online endpoint resource), each with a `primary` deployment of a `bootstrap` model version in the
blueprint's image, Azure Monitor autoscale, traffic logs to Log Analytics, and endpoint-scoped
custom roles for invoking and deploying. Rollouts (`mlops-blueprint rollout`) move the deployment's
model/environment and the traffic split afterwards; Terraform ignores those fields."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle
from cdktn_provider_azapi.resource import Resource as AzapiResource
from cdktn_provider_azapi.resource import ResourceIdentity
from cdktn_provider_azapi.update_resource import UpdateResource
from cdktn_provider_azurerm.monitor_autoscale_setting import (
    MonitorAutoscaleSetting,
)
from cdktn_provider_azurerm.monitor_autoscale_setting import (
    MonitorAutoscaleSettingProfile as Profile,
)
from cdktn_provider_azurerm.monitor_autoscale_setting import (
    MonitorAutoscaleSettingProfileCapacity as Capacity,
)
from cdktn_provider_azurerm.monitor_autoscale_setting import (
    MonitorAutoscaleSettingProfileRule as Rule,
)
from cdktn_provider_azurerm.monitor_autoscale_setting import (
    MonitorAutoscaleSettingProfileRuleMetricTrigger as Trigger,
)
from cdktn_provider_azurerm.monitor_autoscale_setting import (
    MonitorAutoscaleSettingProfileRuleScaleAction as Action,
)
from cdktn_provider_azurerm.role_assignment import RoleAssignment
from constructs import Construct

from mlops_blueprint.blueprints.model import Serving
from mlops_blueprint.modules.azure_common import Principal, assign_role, custom_role
from mlops_blueprint.modules.baseline.azure import AzureBaseline
from mlops_blueprint.modules.registry.azure import ML_API, AzureRegistry
from mlops_blueprint.stacks.azure.catalog import CATALOG
from mlops_blueprint.stacks.azure.names import AzureNames

WS = "Microsoft.MachineLearningServices/workspaces"
ENDPOINT_TYPE = f"{WS}/onlineEndpoints@{ML_API}"
DEPLOYMENT_TYPE = f"{WS}/onlineEndpoints/deployments@{ML_API}"
MODEL_VERSION_TYPE = f"{WS}/models/versions@{ML_API}"
ENVIRONMENT_TYPE = f"{WS}/environments@{ML_API}"
ENVIRONMENT_VERSION_TYPE = f"{WS}/environments/versions@{ML_API}"
DEPLOYMENT_METRICS = f"{WS}/onlineEndpoints/deployments"
PRIMARY, BOOTSTRAP = "primary", "bootstrap"
# The serving container's routes (the image built for the model serves these).
PORT, LIVENESS, READINESS, SCORING = 8080, "/health", "/ready", "/score"
# Rollouts change these on the deployment; autoscale changes the capacity.
DEPLOYMENT_IGNORED = ["body.properties.model", "body.properties.environmentId", "body.sku.capacity"]
INVOKE_ACTIONS = (f"{WS}/onlineEndpoints/read", f"{WS}/onlineEndpoints/score/action")
DEPLOY_ACTIONS = (
    f"{WS}/read",
    f"{WS}/onlineEndpoints/read",
    f"{WS}/onlineEndpoints/write",
    f"{WS}/onlineEndpoints/deployments/read",
    f"{WS}/onlineEndpoints/deployments/write",
    f"{WS}/models/read",
    f"{WS}/models/versions/read",
    f"{WS}/models/versions/write",
    f"{WS}/environments/read",
    f"{WS}/environments/versions/read",
    f"{WS}/environments/versions/write",
)
SCALE_IN_BELOW = 0.5  # scale in when requests per replica fall under half the target


@dataclass(frozen=True)
class ServingProps:
    """spec: endpoints (omitted per endpoint: cpu-medium, 1..2 replicas, 100 requests/min per replica,
    capture 100 % of requests, image tag `bootstrap`, private)."""

    naming: AzureNames
    spec: Serving
    baseline: AzureBaseline
    registry: AzureRegistry
    protect: bool


def traffic_query(endpoint: str) -> str:
    """The endpoint's rows in its traffic log (diagnostic category AmlOnlineEndpointTrafficLog)."""
    return f'AmlOnlineEndpointTrafficLog | where EndpointName == "{endpoint}"'


class AzureServing(Construct):
    """Per blueprint endpoint:

    - `endpoints[name]`: a managed online endpoint (system-assigned identity) with Entra ID token auth
      (authMode AADToken: callers need an RBAC role, no keys exist), public network access Disabled when
      the endpoint is private (inbound only through the workspace's private endpoint), Enabled otherwise.
    - a `bootstrap` version of the endpoint's model (custom_model at
      `azureml://datastores/workspaceblobstore/paths/bootstrap/<model>/`, which the platform bootstrap
      uploads) and an environment `<endpoint>` version `<image_tag>` running the registry image
      `<acr>/<model>:<image_tag>` (routes /health, /ready, /score on 8080).
    - `deployments[name]`: deployment `primary` on the catalog's instance type, sku capacity = min_replicas,
      scale settings Default (managed endpoints accept only Default; Azure Monitor autoscale scales them),
      egress public network access Disabled, Application Insights on, data collector: model_inputs and
      model_outputs enabled per capture_requests, sampled at capture_percent / 100.
    - the endpoint's traffic `{"primary": 100}`, set once after the deployment exists (azapi update);
      rollouts own the split afterwards. The deployment ignores changes to its model, environment and
      capacity (rollouts and autoscale move them).
    - an autoscale setting on the deployment: min..max replicas; out by one when RequestsPerMinute per
      instance exceeds target_invocations_per_replica or CPU exceeds 70 %, in by one under half the target.
    - traffic/console/event logs to Log Analytics (the monitoring component's error-rate alert reads them).
    - the endpoint's own identity gets AcrPull on the registry and, on the artifact storage, "Storage
      Blob Data Contributor" when requests are captured (the data collector writes there) else Reader.

    Roles: `grant_invoke` assigns a custom role (score + read only) on each endpoint; `grant_deploy` a
    custom role (endpoints and deployments read/write, models read, environments read + version write:
    a rollout registers its image as an environment version) on the workspace. The built-in "AzureML
    Data Scientist" would also let callers run jobs and manage compute: too broad for either.
    """

    def __init__(self, scope: Construct, id: str, *, props: ServingProps):
        super().__init__(scope, id)
        n, b, reg = props.naming, props.baseline, props.registry
        rg, location = b.resource_group.name, b.location
        for name, ep in props.spec.endpoints.items():
            if CATALOG.serving_instance(ep.size) is None:
                raise ValueError(
                    f"serving endpoint {name!r}: size {ep.size!r} has no Azure ML instance type "
                    f"(allowed: {', '.join(sorted(CATALOG.serving))})"
                )
            if ep.model not in reg.models:
                raise ValueError(
                    f"serving endpoint {name!r}: model {ep.model!r} is not in the registry "
                    f"(registry models: {', '.join(reg.models)}); add it to components.registry.models"
                )
        ws = reg.workspace
        self._workspace_id = ws.id
        self.endpoints: dict[str, AzapiResource] = {}
        self.deployments: dict[str, AzapiResource] = {}
        self.autoscale: dict[str, MonitorAutoscaleSetting] = {}
        self.names: dict[str, str] = {}
        self.private: dict[str, bool] = {}
        bootstrap_versions: dict[str, AzapiResource] = {}
        for model in dict.fromkeys(ep.model for ep in props.spec.endpoints.values()):
            bootstrap_versions[model] = AzapiResource(
                self,
                f"{model}-bootstrap",
                type=MODEL_VERSION_TYPE,
                name=BOOTSTRAP,
                parent_id=reg.models[model].id,
                body={
                    "properties": {
                        "modelType": "custom_model",
                        "modelUri": f"azureml://datastores/workspaceblobstore/paths/{BOOTSTRAP}/{model}/",
                        "description": f"Placeholder version of {model} the endpoints start with",
                        "isArchived": False,
                    }
                },
            )
        for name, ep in props.spec.endpoints.items():
            ep_name = n.endpoint(name)
            endpoint = AzapiResource(
                self,
                name,
                type=ENDPOINT_TYPE,
                name=ep_name,
                parent_id=ws.id,
                location=location,
                identity=[ResourceIdentity(type="SystemAssigned")],
                body={
                    "kind": "Managed",
                    "properties": {
                        "authMode": "AADToken",
                        "publicNetworkAccess": "Disabled" if ep.private else "Enabled",
                        "description": f"{ep.model} ({ep.size}, {ep.min_replicas}-{ep.max_replicas} replicas)",
                    },
                },
                response_export_values={"scoring_uri": "properties.scoringUri"},
            )
            b.diagnostics(self, f"{name}-diagnostics", endpoint.id)
            # The endpoint's identity pulls the image and the model, and writes captured requests.
            identity = endpoint.identity.get(0).principal_id
            grants = [
                RoleAssignment(
                    self,
                    f"{name}-pulls-images",
                    scope=reg.acr.id,
                    principal_id=identity,
                    role_definition_name="AcrPull",
                    principal_type="ServicePrincipal",
                ),
                RoleAssignment(
                    self,
                    f"{name}-reads-artifacts",
                    scope=reg.artifacts.id,
                    principal_id=identity,
                    role_definition_name="Storage Blob Data Contributor"
                    if ep.capture_requests
                    else "Storage Blob Data Reader",
                    principal_type="ServicePrincipal",
                ),
            ]
            environment = AzapiResource(
                self,
                f"{name}-environment",
                type=ENVIRONMENT_TYPE,
                name=ep_name,
                parent_id=ws.id,
                body={"properties": {"description": f"Serving images of {ep_name}"}},
            )
            environment_version = AzapiResource(
                self,
                f"{name}-environment-{BOOTSTRAP}",
                type=ENVIRONMENT_VERSION_TYPE,
                name=ep.image_tag,
                parent_id=environment.id,
                body={
                    "properties": {
                        "image": reg.image_uri(ep.model, ep.image_tag),
                        "osType": "Linux",
                        "inferenceConfig": {
                            "livenessRoute": {"path": LIVENESS, "port": PORT},
                            "readinessRoute": {"path": READINESS, "port": PORT},
                            "scoringRoute": {"path": SCORING, "port": PORT},
                        },
                    }
                },
            )
            mode = "Enabled" if ep.capture_requests else "Disabled"
            rate = ep.capture_percent / 100
            deployment = AzapiResource(
                self,
                f"{name}-{PRIMARY}",
                type=DEPLOYMENT_TYPE,
                name=PRIMARY,
                parent_id=endpoint.id,
                location=location,
                body={
                    "kind": "Managed",
                    "sku": {"name": "Default", "capacity": ep.min_replicas},
                    "properties": {
                        "endpointComputeType": "Managed",
                        "instanceType": CATALOG.serving_instance(ep.size),
                        "model": bootstrap_versions[ep.model].id,
                        "environmentId": environment_version.id,
                        "scaleSettings": {"scaleType": "Default"},
                        "egressPublicNetworkAccess": "Disabled",
                        "appInsightsEnabled": True,
                        "dataCollector": {
                            "collections": {
                                "model_inputs": {"dataCollectionMode": mode, "samplingRate": rate},
                                "model_outputs": {"dataCollectionMode": mode, "samplingRate": rate},
                            }
                        },
                    },
                },
                # The embedded schema types samplingRate as an integer; the service takes a fraction.
                schema_validation_enabled=False,
                depends_on=grants,
                lifecycle=TerraformResourceLifecycle(ignore_changes=DEPLOYMENT_IGNORED),
            )
            UpdateResource(
                self,
                f"{name}-traffic",
                type=ENDPOINT_TYPE,
                resource_id=endpoint.id,
                body={"properties": {"traffic": {PRIMARY: 100}}},
                depends_on=[deployment],
                lifecycle=TerraformResourceLifecycle(ignore_changes=["body"]),
            )
            self.autoscale[name] = MonitorAutoscaleSetting(
                self,
                f"{name}-autoscale",
                name=n.name(name, "autoscale"),
                location=location,
                resource_group_name=rg,
                target_resource_id=deployment.id,
                enabled=True,
                profile=[
                    Profile(
                        name="requests",
                        capacity=Capacity(minimum=ep.min_replicas, maximum=ep.max_replicas, default=ep.min_replicas),
                        rule=[
                            self._rule(
                                deployment.id,
                                "RequestsPerMinute",
                                "GreaterThan",
                                ep.target_invocations_per_replica,
                                "Increase",
                                per_instance=True,
                            ),
                            self._rule(deployment.id, "CpuUtilizationPercentage", "GreaterThan", 70, "Increase"),
                            self._rule(
                                deployment.id,
                                "RequestsPerMinute",
                                "LessThan",
                                ep.target_invocations_per_replica * SCALE_IN_BELOW,
                                "Decrease",
                                per_instance=True,
                            ),
                        ],
                    )
                ],
            )
            self.endpoints[name], self.deployments[name] = endpoint, deployment
            self.names[name], self.private[name] = ep_name, ep.private

        self.invoker = custom_role(
            self,
            "invoker-role",
            name=n.name("endpoint-invoker"),
            resource_group_id=b.resource_group.id,
            actions=INVOKE_ACTIONS,
            description="Score the platform's online endpoints (assigned on each endpoint)",
        )
        self.deployer = custom_role(
            self,
            "deployer-role",
            name=n.name("endpoint-deployer"),
            resource_group_id=b.resource_group.id,
            actions=DEPLOY_ACTIONS,
            description="Roll model versions out to the platform's online endpoints (assigned on the workspace)",
        )

    @staticmethod
    def _rule(
        resource_id: str, metric: str, operator: str, threshold: float, direction: str, *, per_instance: bool = False
    ) -> Rule:
        return Rule(
            metric_trigger=Trigger(
                metric_name=metric,
                metric_namespace=DEPLOYMENT_METRICS,
                metric_resource_id=resource_id,
                operator=operator,
                threshold=threshold,
                statistic="Average",
                time_aggregation="Average",
                time_grain="PT1M",
                time_window="PT5M",
                divide_by_instance_count=per_instance or None,
            ),
            scale_action=Action(
                direction=direction,
                type="ChangeCount",
                value=1,
                cooldown="PT5M" if direction == "Increase" else "PT10M",
            ),
        )

    def grant_invoke(self, principal: Principal, *, id: str) -> None:
        """Score each endpoint: the custom invoker role, assigned on the endpoint itself (Entra tokens)."""
        for name, endpoint in self.endpoints.items():
            assign_role(self, f"{id}-{name}", on=endpoint.id, principal=principal, role=self.invoker.name)

    def grant_deploy(self, principal: Principal, *, id: str) -> None:
        """Create deployments, move traffic and register serving images: the custom deployer role on the
        workspace (deployments are children of endpoints the workspace holds)."""
        assign_role(self, id, on=self._workspace_id, principal=principal, role=self.deployer.name)
