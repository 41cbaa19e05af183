"""The model registry on Azure: an Azure ML workspace (the model registry: one model container per
blueprint model), its versioned artifact storage, a Premium container registry for serving images,
and workspace-based Application Insights. Everything is private and encrypted with the "ml" key.
Model versions are registered by `mlops-blueprint rollout`, not by Terraform (only the serving
component's `bootstrap` versions are)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cdktn_provider_azapi.resource import Resource as AzapiResource
from cdktn_provider_azurerm.application_insights import ApplicationInsights
from cdktn_provider_azurerm.container_registry import (
    ContainerRegistry,
    ContainerRegistryEncryption,
    ContainerRegistryIdentity,
)
from cdktn_provider_azurerm.container_registry_task import (
    ContainerRegistryTask,
    ContainerRegistryTaskEncodedStep,
    ContainerRegistryTaskIdentity,
    ContainerRegistryTaskPlatform,
    ContainerRegistryTaskTimerTrigger,
)
from cdktn_provider_azurerm.machine_learning_workspace import (
    MachineLearningWorkspace,
    MachineLearningWorkspaceEncryption,
    MachineLearningWorkspaceIdentity,
    MachineLearningWorkspaceManagedNetwork,
)
from cdktn_provider_azurerm.private_dns_zone import PrivateDnsZone
from cdktn_provider_azurerm.private_dns_zone_virtual_network_link import PrivateDnsZoneVirtualNetworkLink
from cdktn_provider_azurerm.storage_account import (
    StorageAccount,
    StorageAccountBlobProperties,
    StorageAccountBlobPropertiesContainerDeleteRetentionPolicy,
    StorageAccountBlobPropertiesDeleteRetentionPolicy,
    StorageAccountIdentity,
    StorageAccountNetworkRules,
)
from cdktn_provider_azurerm.storage_account_customer_managed_key import StorageAccountCustomerManagedKeyA
from constructs import Construct

from mlops_blueprint.blueprints.model import Registry
from mlops_blueprint.modules.azure_common import Principal, assign_role, protect
from mlops_blueprint.modules.baseline.azure import AzureBaseline
from mlops_blueprint.stacks.azure.names import AzureNames

ML_API = "2024-10-01"
MODEL_CONTAINER_TYPE = f"Microsoft.MachineLearningServices/workspaces/models@{ML_API}"
WORKSPACE_ZONE, NOTEBOOKS_ZONE = "privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"
BLOB_ZONE, FILE_ZONE, ACR_ZONE = (
    "privatelink.blob.core.windows.net",
    "privatelink.file.core.windows.net",
    "privatelink.azurecr.io",
)
ARTIFACT_SOFT_DELETE_DAYS = 30
UNTAGGED_RETENTION_DAYS = 7
PURGE_SCHEDULE = "0 4 * * *"  # daily, 04:00 UTC


@dataclass(frozen=True)
class RegistryProps:
    """spec: models (omitted: image scanning on, immutable tags on, keep 30 images per model).
    protect: prevent_destroy on the workspace, the artifact storage, the registry and the model containers."""

    naming: AzureNames
    spec: Registry
    baseline: AzureBaseline
    protect: bool


def purge_task(models: list[str], keep: int) -> str:
    """The ACR task (YAML, base64) that keeps the newest `keep` tags of each model's repository and
    deletes untagged manifests: ACR's only "keep N images" mechanism is `acr purge`."""
    steps = "\n".join(
        f"  - cmd: acr purge --filter '{m}:.*' --keep {keep} --ago 0d --untagged\n"
        "    disableWorkingDirectoryOverride: true\n    timeout: 3600"
        for m in models
    )
    return base64.b64encode(f"version: v1.1.0\nsteps:\n{steps}\n".encode()).decode()


class AzureRegistry(Construct):
    """The Azure ML workspace is the model registry.

    - `workspace`: customer-managed key (the "ml" key through the baseline's encryption identity; the
      workspace's primary identity is system-assigned so Azure ML grants itself what it needs on its
      dependencies), public network access off, high business impact (less diagnostic data leaves the
      workspace, local disks encrypted), managed network that allows only approved outbound traffic,
      identity-based access to its storage, the baseline's Key Vault, v1 legacy mode off. A private
      endpoint "amlworkspace" registers in privatelink.api.azureml.ms and privatelink.notebooks.azure.net.
    - `artifacts`: the workspace's storage (not HNS: Azure ML needs a flat namespace), blob versioning ON
      and 30 days of blob + container soft delete, CMK with the "ml" key, shared keys off, public access
      off, TLS 1.2, infrastructure encryption, queues and tables under the same key; private endpoints for
      blob and file.
    - `acr`: Premium, admin user off, anonymous pull off, public network off, export off, quarantine on,
      zone redundant, dedicated data endpoints, CMK with the "ml" key (versionless: follows rotation);
      private endpoint "registry". `retention_policy_in_days` applies to untagged manifests only (7 days);
      `keep_images` maps to a daily ACR task running `acr purge --keep <keep_images>` per model.
    - Immutable tags: ACR has no per-repository tag immutability in azurerm (locks are data-plane:
      `az acr repository update --write-enabled false`). Rollout pushes each `--image-tag` once and locks
      it; the policy rules check export, anonymous pull and the admin user instead. `image_scanning` is
      Microsoft Defender for Containers, a subscription-level plan outside this stack.
    - `models`: one model container per blueprint model (azapi, `workspaces/models@2024-10-01`).
    - `app_insights`: workspace-based (the baseline's Log Analytics), local authentication off.
    """

    def __init__(self, scope: Construct, id: str, *, props: RegistryProps):
        super().__init__(scope, id)
        n, b, spec = props.naming, props.baseline, props.spec
        rg, location = b.resource_group.name, b.location
        self._baseline = b
        cmk_identity = b.encryption_identity

        self.artifacts = StorageAccount(
            self,
            "artifacts",
            name=n.workspace_account,
            location=location,
            resource_group_name=rg,
            account_kind="StorageV2",
            account_tier="Standard",
            account_replication_type="ZRS",
            is_hns_enabled=False,
            shared_access_key_enabled=False,
            default_to_oauth_authentication=True,
            public_network_access_enabled=False,
            min_tls_version="TLS1_2",
            https_traffic_only_enabled=True,
            allow_nested_items_to_be_public=False,
            cross_tenant_replication_enabled=False,
            infrastructure_encryption_enabled=True,
            local_user_enabled=False,
            sftp_enabled=False,
            # queues and tables (Azure ML uses both) are encrypted with the account's customer-managed key too
            queue_encryption_key_type="Account",
            table_encryption_key_type="Account",
            identity=StorageAccountIdentity(type="UserAssigned", identity_ids=[cmk_identity.id]),
            network_rules=StorageAccountNetworkRules(default_action="Deny", bypass=["AzureServices"]),
            blob_properties=StorageAccountBlobProperties(
                versioning_enabled=True,
                change_feed_enabled=True,
                delete_retention_policy=StorageAccountBlobPropertiesDeleteRetentionPolicy(
                    days=ARTIFACT_SOFT_DELETE_DAYS
                ),
                container_delete_retention_policy=StorageAccountBlobPropertiesContainerDeleteRetentionPolicy(
                    days=ARTIFACT_SOFT_DELETE_DAYS
                ),
            ),
            lifecycle=protect(props.protect),
            depends_on=[b.encryption_grant],
        )
        self.artifacts_key = StorageAccountCustomerManagedKeyA(
            self,
            "artifacts-cmk",
            storage_account_id=self.artifacts.id,
            key_vault_key_id=b.key_id("ml"),
            user_assigned_identity_id=cmk_identity.id,
        )
        b.private_endpoint(self, "artifacts-blob", resource_id=self.artifacts.id, subresource="blob", zone=BLOB_ZONE)
        b.private_endpoint(self, "artifacts-file", resource_id=self.artifacts.id, subresource="file", zone=FILE_ZONE)
        b.diagnostics(self, "artifacts-diagnostics", self.artifacts.id, logs=False)
        b.diagnostics(self, "artifacts-blob-diagnostics", f"{self.artifacts.id}/blobServices/default")
        b.diagnostics(self, "artifacts-file-diagnostics", f"{self.artifacts.id}/fileServices/default")

        self.acr = ContainerRegistry(
            self,
            "acr",
            name=n.container_registry,
            location=location,
            resource_group_name=rg,
            sku="Premium",
            admin_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access_enabled=False,
            export_policy_enabled=False,
            quarantine_policy_enabled=True,
            data_endpoint_enabled=True,
            zone_redundancy_enabled=True,
            network_rule_bypass_option="AzureServices",
            retention_policy_in_days=UNTAGGED_RETENTION_DAYS,
            identity=ContainerRegistryIdentity(type="UserAssigned", identity_ids=[cmk_identity.id]),
            encryption=[
                ContainerRegistryEncryption(key_vault_key_id=b.key_id("ml"), identity_client_id=cmk_identity.client_id)
            ],
            lifecycle=protect(props.protect),
            depends_on=[b.encryption_grant],
        )
        b.private_endpoint(self, "acr-registry", resource_id=self.acr.id, subresource="registry", zone=ACR_ZONE)
        b.diagnostics(self, "acr-diagnostics", self.acr.id)
        # Keep the newest `keep_images` tags per model (ACR tasks reach a private registry as a trusted service).
        self.purge = ContainerRegistryTask(
            self,
            "acr-purge",
            name="purge-old-images",
            container_registry_id=self.acr.id,
            platform=ContainerRegistryTaskPlatform(os="Linux"),
            identity=ContainerRegistryTaskIdentity(type="SystemAssigned"),
            encoded_step=ContainerRegistryTaskEncodedStep(task_content=purge_task(list(spec.models), spec.keep_images)),
            timer_trigger=[ContainerRegistryTaskTimerTrigger(name="daily", schedule=PURGE_SCHEDULE, enabled=True)],
        )

        self.app_insights = ApplicationInsights(
            self,
            "app-insights",
            name=n.dashed("appi"),
            location=location,
            resource_group_name=rg,
            application_type="web",
            workspace_id=b.log_analytics.id,
            local_authentication_enabled=False,
        )

        self.workspace = MachineLearningWorkspace(
            self,
            "workspace",
            name=n.workspace,
            location=location,
            resource_group_name=rg,
            sku_name="Basic",
            application_insights_id=self.app_insights.id,
            key_vault_id=b.key_vault.id,
            storage_account_id=self.artifacts.id,
            container_registry_id=self.acr.id,
            storage_account_access_type="Identity",
            identity=MachineLearningWorkspaceIdentity(
                type="SystemAssigned, UserAssigned", identity_ids=[cmk_identity.id]
            ),
            encryption=MachineLearningWorkspaceEncryption(
                key_vault_id=b.key_vault.id, key_id=b.keys["ml"].id, user_assigned_identity_id=cmk_identity.id
            ),
            high_business_impact=True,
            public_network_access_enabled=False,
            v1_legacy_mode_enabled=False,
            managed_network=MachineLearningWorkspaceManagedNetwork(isolation_mode="AllowOnlyApprovedOutbound"),
            lifecycle=protect(props.protect),
            depends_on=[b.encryption_grant, self.artifacts_key],
        )
        self.workspace_endpoint = b.private_endpoint(
            self, "workspace-endpoint", resource_id=self.workspace.id, subresource="amlworkspace", zone=WORKSPACE_ZONE
        )
        # The workspace endpoint also answers for notebooks: a second zone in the same zone group.
        notebooks = PrivateDnsZone(self, "notebooks-zone", name=NOTEBOOKS_ZONE, resource_group_name=rg)
        PrivateDnsZoneVirtualNetworkLink(
            self,
            "notebooks-zone-link",
            name=n.name("vnet"),
            private_dns_zone_id=notebooks.id,
            virtual_network_id=b.vnet.id,
            registration_enabled=False,
        )
        if b.runner_network:  # every private zone resolves in the runner's VNet too (AzureBaseline.reach)
            PrivateDnsZoneVirtualNetworkLink(
                self,
                "notebooks-zone-runner-link",
                name=n.name("runner"),
                private_dns_zone_id=notebooks.id,
                virtual_network_id=b.runner_network,
                registration_enabled=False,
            )
        self.workspace_endpoint.put_private_dns_zone_group(
            name="default", private_dns_zone_ids=[b.dns_zones[WORKSPACE_ZONE].id, notebooks.id]
        )
        b.diagnostics(self, "workspace-diagnostics", self.workspace.id)

        self.models: dict[str, AzapiResource] = {
            model: AzapiResource(
                self,
                f"model-{model}",
                type=MODEL_CONTAINER_TYPE,
                name=model,
                parent_id=self.workspace.id,
                body={
                    "properties": {
                        "description": f"{model} ({n.prefix})",
                        "isArchived": False,
                        "tags": {"mlops-model": model},
                    }
                },
                lifecycle=protect(props.protect),
            )
            for model in spec.models
        }

    def image_uri(self, model: str, tag: str) -> str:
        return f"{self.acr.login_server}/{model}:{tag}"

    def model_id(self, model: str) -> str:
        """The ARM id of `model`'s container in the workspace."""
        return self.models[model].id

    def grant_pull(self, principal: Principal, *, id: str) -> None:
        """Read images (AcrPull), artifacts ("Storage Blob Data Reader") and the workspace's models
        ("Reader" on the workspace: ARM read of model containers and versions, nothing else)."""
        assign_role(self, f"{id}-acr", on=self.acr.id, principal=principal, role="AcrPull")
        assign_role(self, f"{id}-artifacts", on=self.artifacts.id, principal=principal, role="Storage Blob Data Reader")
        assign_role(self, f"{id}-workspace", on=self.workspace.id, principal=principal, role="Reader")

    def grant_push(self, principal: Principal, *, id: str) -> None:
        """Publish images (AcrPush), write artifacts ("Storage Blob Data Contributor") and register model
        versions and run jobs in the workspace ("AzureML Data Scientist": no workspace or compute admin)."""
        assign_role(self, f"{id}-acr", on=self.acr.id, principal=principal, role="AcrPush")
        assign_role(
            self, f"{id}-artifacts", on=self.artifacts.id, principal=principal, role="Storage Blob Data Contributor"
        )
        assign_role(self, f"{id}-workspace", on=self.workspace.id, principal=principal, role="AzureML Data Scientist")
