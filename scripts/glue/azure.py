"""Azure glue (azure-ai-ml, azure-mgmt-*, azure-storage-blob): state bootstrap, `verify`, `rollout`.

verify: the subscription's prerequisites (FEATURES: features the stacks cannot register), then read
back each blueprint endpoint (private when asked, Entra ID token auth, data collection on
every deployment when requests are captured, the traffic split), the workspace's customer-managed key,
and which versions of each blueprint model the workspace's registry holds.

rollout: a model version (the image tag) in the workspace's model registry -> a managed online
deployment named after the tag on the blueprint's endpoint (the blueprint's size and replicas,
egress off, data collection per the blueprint) -> the endpoint's traffic gives the new deployment
p % and scales the current deployments to 100-p % (`--traffic 100` promotes: the new deployment
takes everything; the previous deployments stay, at 0 %, until someone deletes them).

The deployment runs the image `<registry>.azurecr.io/<model>:<tag>`, registered as version `<tag>` of
the endpoint's environment (named like the endpoint), as a custom container answering `/health`
(liveness), `/ready` (readiness) and `/score` on port 8080: the contract of the `primary` deployment
that modules/serving/azure.py creates (keep the two in step).

State bootstrap: the resource group `rg-<name>-<env>-tfstate`, a StorageV2 account (zone-redundant,
HTTPS and TLS 1.2 only, no shared keys so Entra ID is the only way in, no public blob access, blob
versioning and 30 days of blob and container soft delete) and its `tfstate` container. Public
network access stays enabled (a runner outside the platform network must reach the state; shared
keys are off and OAuth is the default, so a network path alone grants nothing). Whoever runs the
bootstrap and Terraform needs "Storage Blob Data Contributor" on the account (the azurerm backend
with `use_azuread_auth` needs it too): the container is created through the data plane.

The `*_with` functions take their SDK clients from the caller, so the tests drive them through
recording fakes (and the data-plane half through Azurite).
"""

from __future__ import annotations

import os
import re
from typing import Any

from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.scripts.glue import (
    Check,
    ModuleGlue,
    Reporter,
    RolloutError,
    RolloutResult,
    Target,
    bounded,
    check_share,
    endpoint_spec,
    run_checks,
    split,
)
from mlops_blueprint.stacks.azure.catalog import CATALOG
from mlops_blueprint.stacks.azure.names import AzureNames

CREDENTIALS_HINT = (
    "on Azure run `az login` or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET "
    "(or use a managed identity / workload identity)"
)

# The serving container's contract; the same as modules/serving/azure.py (PORT, LIVENESS, READINESS, SCORING).
SERVING_PORT, LIVENESS, READINESS, SCORING = 8080, "/health", "/ready", "/score"
STATE_RETENTION_DAYS = 30
STATE_TAGS = {"managed-by": "mlops-blueprint"}
# Blob metadata names must be C# identifiers: no hyphen (Azure and Azurite answer InvalidMetadata).
CONTAINER_METADATA = {"managed_by": "mlops-blueprint"}


def credential_errors() -> tuple[type[Exception], ...]:
    """ClientAuthenticationError: DefaultAzureCredential's "no credential worked", and the base class of
    azure-identity's CredentialUnavailableError."""
    try:
        from azure.core.exceptions import ClientAuthenticationError
    except ImportError:  # the azure extra is not installed
        return ()
    return (ClientAuthenticationError,)


# What DefaultAzureCredential (the SDKs) and azurerm (Terraform, ARM_*) read; set but empty they are a
# mistake (azure-identity even raises a bare ValueError for an empty AZURE_CLIENT_ID).
SECRETS = (
    *("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_USERNAME", "AZURE_PASSWORD"),
    *("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_CLIENT_SECRET", "ARM_SUBSCRIPTION_ID"),
)
FILES = (
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "ARM_CLIENT_CERTIFICATE_PATH",
    "ARM_OIDC_TOKEN_FILE_PATH",
)
AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"  # every Azure VM's DMI chassis asset tag


def credentials_problem() -> str | None:
    """A credential source, found without the network: a service principal or workload identity in the
    environment, a managed identity (its endpoint variables, ARM_USE_MSI, or an Azure VM), or `az login`."""
    import json as _json
    from pathlib import Path

    from mlops_blueprint.scripts.glue import empty_variable, machine_vendor, missing_file

    env = os.environ
    problem = empty_variable((*SECRETS, *FILES, "AZURE_CONFIG_DIR")) or missing_file(FILES)
    if problem:
        return problem
    principal = all(env.get(v) for v in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID")) and any(
        env.get(v) for v in ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE")
    )
    managed = any(env.get(v) for v in ("IDENTITY_ENDPOINT", "MSI_ENDPOINT")) or env.get("ARM_USE_MSI") == "true"
    if principal or managed or machine_vendor("chassis_asset_tag") == AZURE_ASSET_TAG:
        return None
    profile = Path(env.get("AZURE_CONFIG_DIR") or Path.home() / ".azure") / "azureProfile.json"
    try:
        if _json.loads(profile.read_text(encoding="utf-8-sig")).get("subscriptions"):
            return None
    except (OSError, ValueError, AttributeError):
        pass
    return (
        "none found (no AZURE_CLIENT_ID/AZURE_TENANT_ID with a secret, certificate or federated token, no "
        "managed identity, no `az login`)"
    )


def names(env: ResolvedEnv) -> AzureNames:
    return AzureNames(env.blueprint.metadata.name, env.name)


# ---------------------------------------------------------------------------------------------- state


def bootstrap_state_with(
    env: ResolvedEnv, resources: Any, storage_mgmt: Any, blob_service: Any, report: Reporter
) -> None:
    """Create the state resource group, storage account and container when they are missing.

    `resources`: azure.mgmt.resource.resources.ResourceManagementClient; `storage_mgmt`:
    azure.mgmt.storage.StorageManagementClient (both for the target subscription); `blob_service`:
    azure.storage.blob.BlobServiceClient on the state account."""
    from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
    from azure.mgmt.resource.resources import models as rm
    from azure.mgmt.storage import models as sm

    bp = env.blueprint
    n = names(env)
    region = bp.target.region
    group, account = n.state_resource_group, n.state_account(bp.state.bucket)
    tags = {**STATE_TAGS, "blueprint": bp.metadata.name, "environment": env.name}

    if not resources.resource_groups.check_existence(group):
        report(f"creating state resource group {group}")
        resources.resource_groups.create_or_update(group, rm.ResourceGroup(location=region, tags=tags))

    try:
        storage_mgmt.storage_accounts.get_properties(group, account)
    except ResourceNotFoundError:
        free = storage_mgmt.storage_accounts.check_name_availability(
            sm.StorageAccountCheckNameAvailabilityParameters(name=account, type="Microsoft.Storage/storageAccounts")
        )
        if not free.name_available:
            raise UserError(
                f"the state storage account name {account!r} is taken ({free.reason}): storage account "
                "names are global",
                hint="set state.bucket in the blueprint to another name (3-24 lowercase letters and digits)",
            ) from None
        report(f"creating state storage account {account}")
        storage_mgmt.storage_accounts.begin_create(
            group,
            account,
            sm.StorageAccountCreateParameters(
                location=region,
                kind="StorageV2",
                sku=sm.Sku(name="Standard_ZRS"),
                tags=tags,
                enable_https_traffic_only=True,
                minimum_tls_version="TLS1_2",
                allow_blob_public_access=False,
                allow_shared_key_access=False,
                default_to_o_auth_authentication=True,
                allow_cross_tenant_replication=False,
                public_network_access="Enabled",
            ),
        ).result()

    # Read back and repair: a bootstrap interrupted after the account was created still ends versioned.
    current = storage_mgmt.blob_services.get_service_properties(group, account)
    retention = sm.DeleteRetentionPolicy(enabled=True, days=STATE_RETENTION_DAYS)
    if not (
        current.is_versioning_enabled
        and _retained(current.delete_retention_policy)
        and _retained(current.container_delete_retention_policy)
    ):
        report(f"enabling blob versioning and {STATE_RETENTION_DAYS}-day soft delete on {account}")
        storage_mgmt.blob_services.set_service_properties(
            group,
            account,
            sm.BlobServiceProperties(
                is_versioning_enabled=True,
                delete_retention_policy=retention,
                container_delete_retention_policy=retention,
            ),
        )

    container = n.STATE_CONTAINER
    try:
        if blob_service.get_container_client(container).exists():
            return
        report(f"creating state container {container} in {account}")
        blob_service.create_container(container, metadata=dict(CONTAINER_METADATA))
    except ResourceExistsError:
        pass  # created concurrently
    except HttpResponseError as exc:
        if exc.status_code == 403:
            raise UserError(
                f"cannot reach the state container in {account}: {exc.reason}",
                hint="grant yourself 'Storage Blob Data Contributor' on the account (shared keys are off); "
                "a new role assignment takes a few minutes to apply",
            ) from None
        raise


def _retained(policy: Any) -> bool:
    return bool(policy is not None and policy.enabled and (policy.days or 0) >= STATE_RETENTION_DAYS)


def bootstrap_state(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    if env.blueprint.state.backend_for(env.blueprint.target.cloud) != CATALOG.state_backend:
        return  # local state: nothing to create
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.resource.resources import ResourceManagementClient
    from azure.mgmt.storage import StorageManagementClient
    from azure.storage.blob import BlobServiceClient

    credential = DefaultAzureCredential()
    sub = str(env.blueprint.target.subscription_id)
    account = names(env).state_account(env.blueprint.state.bucket)
    bootstrap_state_with(
        env,
        ResourceManagementClient(credential, sub),
        StorageManagementClient(credential, sub),
        BlobServiceClient(f"https://{account}.blob.core.windows.net", credential=credential),
        report,
    )


def delete_state(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    """Never called on Azure: state is deleted only in local (emulator) mode, which Azure has not."""
    raise NotImplementedError("Azure state is never deleted by the tool")


# -------------------------------------------------------------------------------------------- rollout


def ml_client(env: ResolvedEnv):
    """An MLClient on the environment's workspace (no I/O until the first call)."""
    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential

    n = names(env)
    return MLClient(
        DefaultAzureCredential(),
        subscription_id=env.blueprint.target.subscription_id,
        resource_group_name=n.resource_group,
        workspace_name=n.workspace,
    )


def model_version(tag: str) -> str:
    """An Azure ML asset version: letters, digits, `.`, `_` and `-`."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", tag)


def deployment_name(tag: str) -> str:
    """An online deployment name: 3-32 letters, digits and hyphens, starting with a letter."""
    slug = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", tag.lower())).strip("-")
    if not slug[:1].isalpha():
        slug = f"v{slug}"
    if len(slug) < 3:
        slug = f"tag-{slug}"
    return bounded(slug, 32)


def image_uri(n: AzureNames, model: str, tag: str) -> str:
    return f"{n.container_registry}.azurecr.io/{model}:{tag}"


def rollout_with(
    env: ResolvedEnv, endpoint: str, image_tag: str, traffic: int, ml: Any, artifact: str | None = None
) -> RolloutResult:
    """`ml`: an azure.ai.ml.MLClient on the environment's workspace."""
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import DataCollector, DeploymentCollection, Environment, ManagedOnlineDeployment, Model
    from azure.core.exceptions import ResourceNotFoundError

    check_share(traffic)
    ep = endpoint_spec(env, endpoint)
    n = names(env)
    ep_name = n.endpoint(endpoint)
    try:
        current = ml.online_endpoints.get(ep_name)
    except ResourceNotFoundError:
        raise RolloutError(
            f"endpoint {ep_name} does not exist in workspace {n.workspace}; deploy the environment first"
        ) from None
    result = RolloutResult(endpoint=ep_name, version="", traffic={})

    version = model_version(image_tag)
    path = artifact or f"azureml://datastores/workspaceblobstore/paths/{ep.model}/{image_tag}/"
    registered = ml.models.create_or_update(
        Model(
            name=ep.model,
            version=version,
            path=path,
            type=AssetTypes.CUSTOM_MODEL,
            description=f"{ep.model} {image_tag}",
            tags={"image_tag": image_tag},
        )
    )
    ref = f"azureml:{ep.model}:{getattr(registered, 'version', None) or version}"
    result.version = ref
    result.steps.append(f"registered model {ref}")

    collector = None
    if ep.capture_requests:
        collector = DataCollector(
            collections={
                "model_inputs": DeploymentCollection(enabled="true"),
                "model_outputs": DeploymentCollection(enabled="true"),
            },
            sampling_rate=ep.capture_percent / 100,
        )
    dep_name = deployment_name(image_tag)
    deployment = ManagedOnlineDeployment(
        name=dep_name,
        endpoint_name=ep_name,
        model=ref,
        environment=Environment(
            name=ep_name,
            version=version,
            image=image_uri(n, ep.model, image_tag),
            inference_config={
                "liveness_route": {"port": SERVING_PORT, "path": LIVENESS},
                "readiness_route": {"port": SERVING_PORT, "path": READINESS},
                "scoring_route": {"port": SERVING_PORT, "path": SCORING},
            },
        ),
        instance_type=CATALOG.serving_instance(ep.size),
        instance_count=ep.min_replicas,
        app_insights_enabled=True,
        egress_public_network_access="disabled",
        data_collector=collector,
        tags={"image_tag": image_tag},
    )
    ml.online_deployments.begin_create_or_update(deployment).result()
    result.steps.append(f"deployed {dep_name} on {ep_name} ({deployment.instance_type} x {ep.min_replicas})")

    # A redeployed tag takes its new share; it does not count as a current deployment.
    others = {k: int(v) for k, v in (current.traffic or {}).items() if k != dep_name}
    current.traffic = split(others, dep_name, traffic)
    ml.online_endpoints.begin_create_or_update(current).result()
    result.traffic = dict(current.traffic)
    result.steps.append(f"set traffic on {ep_name}: " + ", ".join(f"{k} {v}%" for k, v in result.traffic.items()))
    return result


# --------------------------------------------------------------------------------------------- verify


def _collecting(deployment: Any) -> bool:
    dc = getattr(deployment, "data_collector", None)
    collections = getattr(dc, "collections", None) or {}
    return all(
        str(getattr(collections.get(k), "enabled", "")).lower() == "true" for k in ("model_inputs", "model_outputs")
    )


def verify_with(env: ResolvedEnv, ml: Any) -> list[Check]:
    """`ml`: an azure.ai.ml.MLClient on the environment's workspace."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    bp = env.blueprint
    n = names(env)
    c = bp.components
    out: list[Check] = []

    def describe(exc: Exception) -> str:
        if isinstance(exc, ClientAuthenticationError):  # a credential problem, not a failed check
            raise exc
        return f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"

    check = run_checks(out, (HttpResponseError,), describe)

    for name, spec in c.serving.endpoints.items() if c.serving else []:

        def endpoint_ok(name=name, spec=spec) -> tuple[bool, str]:
            ep_name = n.endpoint(name)
            ep = ml.online_endpoints.get(ep_name)
            problems = []
            access = str(ep.public_network_access or "enabled")
            if spec.private and access.lower() != "disabled":
                problems.append(f"public network access {access}, want Disabled")
            if str(ep.auth_mode).lower() != "aad_token":
                problems.append(f"auth mode {ep.auth_mode}, want aad_token")
            if spec.capture_requests:
                off = sorted(d.name for d in ml.online_deployments.list(endpoint_name=ep_name) if not _collecting(d))
                if off:
                    problems.append(f"data collection off on {', '.join(off)}")
            traffic = ", ".join(f"{k} {v}%" for k, v in (ep.traffic or {}).items()) or "nothing deployed yet"
            detail = f"{'private' if spec.private else 'public'}, Entra ID tokens; {traffic}"
            return not problems, "; ".join(problems) or f"{ep_name}: {detail}"

        check("serving", name, endpoint_ok)

    if c.registry or c.serving:

        def workspace_ok() -> tuple[bool, str]:
            cmk = ml.workspaces.get(n.workspace).customer_managed_key
            if cmk is None or not getattr(cmk, "key_uri", None):
                return False, "no customer-managed key (Microsoft-managed encryption)"
            return True, f"encrypted with {cmk.key_uri}"

        check("registry", n.workspace, workspace_ok)
    for model in c.registry.models if c.registry else []:

        def model_ok(model=model) -> tuple[bool, str]:
            versions = [str(m.version) for m in ml.models.list(name=model)]
            if not versions:
                return True, "no version yet (rollout registers the first)"
            return True, f"{len(versions)} version(s): {', '.join(versions[-5:])}"

        check("registry", model, model_ok)
    return out


# Subscription features the stacks need and cannot register themselves: `host_encryption_enabled` on
# every AKS pool needs Microsoft.Compute/EncryptionAtHost. azurerm could register it
# (azurerm_resource_provider_feature_registration), but that resource refuses a feature already
# registered (it asks for an import) and unregisters it for the whole subscription on destroy, so it is
# a prerequisite, checked here: `az feature register --namespace Microsoft.Compute --name
# EncryptionAtHost`, then `az provider register --namespace Microsoft.Compute`.
FEATURES: tuple[tuple[str, str, str], ...] = (
    ("Microsoft.Compute", "EncryptionAtHost", "host encryption on the AKS node pools"),
)
FEATURES_API_VERSION = "2021-07-01"


def prerequisites_with(env: ResolvedEnv, resources: Any) -> list[Check]:
    """`resources`: an azure.mgmt.resource ResourceManagementClient on the target subscription. One check
    per subscription feature in FEATURES that a component of the blueprint needs (training: AKS pools)."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    out: list[Check] = []
    if env.blueprint.components.training is None:
        return out
    sub = env.blueprint.target.subscription_id

    def describe(exc: Exception) -> str:
        if isinstance(exc, ClientAuthenticationError):
            raise exc
        return f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"

    check = run_checks(out, (HttpResponseError,), describe)
    for namespace, feature, why in FEATURES:

        def feature_ok(namespace=namespace, feature=feature, why=why) -> tuple[bool, str]:
            fid = f"/subscriptions/{sub}/providers/Microsoft.Features/providers/{namespace}/features/{feature}"
            found = resources.resources.get_by_id(fid, api_version=FEATURES_API_VERSION)
            state = str((getattr(found, "properties", None) or {}).get("state", "NotRegistered"))
            if state.lower() == "registered":
                return True, f"{namespace}/{feature} registered ({why})"
            return False, (
                f"{namespace}/{feature} is {state}; {why} needs it: run `az feature register --namespace "
                f"{namespace} --name {feature}`, then `az provider register --namespace {namespace}`"
            )

        check("prerequisites", f"{namespace}/{feature}", feature_ok)
    return out


def resource_client(env: ResolvedEnv):
    """A ResourceManagementClient on the target subscription (no I/O until the first call)."""
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.resource.resources import ResourceManagementClient

    return ResourceManagementClient(DefaultAzureCredential(), str(env.blueprint.target.subscription_id))


def verify(env: ResolvedEnv, target: Target) -> list[Check]:
    return prerequisites_with(env, resource_client(env)) + verify_with(env, ml_client(env))


def rollout(
    env: ResolvedEnv, endpoint: str, image_tag: str, traffic: int, target: Target, artifact: str | None = None
) -> RolloutResult:
    return rollout_with(env, endpoint, image_tag, traffic, ml_client(env), artifact)


# --------------------------------------------------------------------------------------------- the glue


class AzureGlue(ModuleGlue):
    """The Azure glue: azure-sdk (storage-account state, Azure ML rollouts). `cleanup_rollouts` keeps the base's no-op:
    nothing to clean, as rollout deployments are children of the online endpoint, and model versions of the
    workspace, which Terraform deletes."""


GLUE = AzureGlue()
