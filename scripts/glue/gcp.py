"""Google Cloud glue (google-cloud-aiplatform, google-cloud-storage): state bootstrap, `verify`, `rollout`.

verify: read back each endpoint's CMEK, private access and request logging, what is deployed on it
and how traffic is split, that the lineage store is encrypted, and which versions of each blueprint
model the Vertex AI Model Registry holds.

rollout: UploadModel into the Vertex AI Model Registry (a new version of the blueprint's model when
it exists) -> DeployModel to the blueprint's endpoint with a traffic split that gives the new
deployment p % and scales the current ones to 100-p %.

The `*_with` functions take their SDK clients from the caller, so the tests drive them through a
fake that records the exact requests.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.scripts.glue import (
    Check,
    ModuleGlue,
    Reporter,
    RolloutResult,
    Target,
    bounded,
    check_share,
    endpoint_spec,
    run_checks,
    split,
)
from mlops_blueprint.stacks.gcp.catalog import CATALOG, PREREQUISITE_APIS
from mlops_blueprint.stacks.gcp.names import GcpNames

CREDENTIALS_HINT = "on GCP run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS)"


def credential_errors() -> tuple[type[Exception], ...]:
    try:
        from google.auth.exceptions import DefaultCredentialsError
    except ImportError:  # the gcp extra is not installed
        return ()
    return (DefaultCredentialsError,)


def credentials_problem() -> str | None:
    """Application Default Credentials, found without the network: GOOGLE_APPLICATION_CREDENTIALS (set,
    not empty, a file), else gcloud's ADC file, else the metadata server of a Google machine."""
    from mlops_blueprint.scripts.glue import empty_variable, machine_vendor, missing_file

    files = ("GOOGLE_APPLICATION_CREDENTIALS",)
    problem = empty_variable(("CLOUDSDK_CONFIG", *files)) or missing_file(files)
    if problem:
        return problem
    import json
    from pathlib import Path

    from google.auth import _cloud_sdk

    adc = os.environ.get(files[0]) or _cloud_sdk.get_application_default_credentials_path()
    if not os.path.isfile(adc):
        if machine_vendor("product_name").startswith("Google"):
            return None  # GCE, GKE, Cloud Build: the metadata server holds the identity
        return f"none found (no GOOGLE_APPLICATION_CREDENTIALS, no {adc}, not on a Google machine)"
    try:
        kind = json.loads(Path(adc).read_text()).get("type")
    except (OSError, ValueError, AttributeError):
        kind = None
    return None if kind else f"{adc} is not a credentials file (JSON with a type, as gcloud writes it)"


def bootstrap_state_with(env: ResolvedEnv, storage_client: Any, report: Reporter) -> None:
    """Create the GCS state bucket (versioned, uniform access, public access prevented) if it is missing.
    `storage_client`: a google.cloud.storage.Client for the target project.

    The settings go with the insert; when the created bucket reads back without them (the storage
    emulator keeps only the name on insert), they are set again with a PATCH."""
    from google.api_core.exceptions import NotFound

    def set_policy(bucket: Any) -> None:
        bucket.versioning_enabled = True
        bucket.iam_configuration.uniform_bucket_level_access_enabled = True
        bucket.iam_configuration.public_access_prevention = "enforced"

    def has_policy(bucket: Any) -> bool:
        iam = bucket.iam_configuration
        return bool(
            bucket.versioning_enabled
            and iam.uniform_bucket_level_access_enabled
            and iam.public_access_prevention == "enforced"
        )

    n = GcpNames(env.blueprint.metadata.name, env.name)
    name = n.state_bucket(env.blueprint.state.bucket)
    try:
        storage_client.get_bucket(name)
        return
    except NotFound:
        pass
    report(f"creating state bucket gs://{name}")
    bucket = storage_client.bucket(name)
    set_policy(bucket)
    created = storage_client.create_bucket(bucket, location=env.blueprint.target.region) or bucket
    if not has_policy(created):
        set_policy(created)
        created.patch()


@dataclass(frozen=True)
class GcpClients:
    """aiplatform_v1 clients for one region (tests pass fakes with the same methods)."""

    models: Any  # ModelServiceClient
    endpoints: Any  # EndpointServiceClient
    metadata: Any = None  # MetadataServiceClient (verify)
    services: Any = None  # an authorized session for Service Usage (verify's prerequisites; None: not read)


def gcp_clients(region: str) -> GcpClients:
    """Real clients on the regional endpoint, with Application Default Credentials."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import aiplatform_v1

    opts = ClientOptions(api_endpoint=f"{region}-aiplatform.googleapis.com")
    return GcpClients(
        models=aiplatform_v1.ModelServiceClient(client_options=opts),
        endpoints=aiplatform_v1.EndpointServiceClient(client_options=opts),
        metadata=aiplatform_v1.MetadataServiceClient(client_options=opts),
        services=service_usage_session(),
    )


def service_usage_session() -> Any:
    """An authorized requests session with Application Default Credentials (no I/O until the first call)."""
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return AuthorizedSession(credentials)


def rollout_with(
    env: ResolvedEnv, endpoint: str, image_tag: str, traffic: int, clients: GcpClients, artifact: str | None = None
) -> RolloutResult:
    from google.cloud import aiplatform_v1 as v1

    check_share(traffic)
    ep = endpoint_spec(env, endpoint)
    bp = env.blueprint
    n = GcpNames(bp.metadata.name, env.name)
    project, region = bp.target.project_id, bp.target.region
    parent = f"projects/{project}/locations/{region}"
    key = n.key_path(str(project), region, "ml")
    display = n.model_display_name(ep.model)
    repo = n.repository(ep.model)
    image = f"{region}-docker.pkg.dev/{project}/{repo}/{ep.model}:{image_tag}"
    endpoint_name = f"{parent}/endpoints/{n.endpoint_id(endpoint)}"
    result = RolloutResult(endpoint=endpoint_name, version="", traffic={})

    current = clients.endpoints.get_endpoint(request=v1.GetEndpointRequest(name=endpoint_name))
    existing = list(
        clients.models.list_models(request=v1.ListModelsRequest(parent=parent, filter=f'display_name="{display}"'))
    )
    model = v1.Model(
        display_name=display,
        artifact_uri=artifact or f"gs://{n.artifacts_bucket}/{ep.model}/{image_tag}/",
        container_spec=v1.ModelContainerSpec(image_uri=image),
        encryption_spec=v1.EncryptionSpec(kms_key_name=key),
        version_aliases=[_alias(image_tag)],
        labels={"mlops_endpoint": endpoint, "image_tag": _label(image_tag)},
    )
    if existing:
        request = v1.UploadModelRequest(parent=parent, model=model, parent_model=existing[0].name)
    else:
        request = v1.UploadModelRequest(parent=parent, model=model, model_id=display)
    uploaded = clients.models.upload_model(request=request).result()
    version = f"{uploaded.model}@{uploaded.model_version_id}"
    result.version = version
    result.steps.append(f"uploaded {version} ({'new version' if existing else 'first version'})")

    machine = CATALOG.serving_instance(ep.size)
    accel = CATALOG.serving_accelerators.get(ep.size)
    spec = v1.MachineSpec(
        machine_type=machine, **({"accelerator_type": accel[0], "accelerator_count": accel[1]} if accel else {})
    )
    deployed = v1.DeployedModel(
        model=version,
        display_name=bounded(f"{display}-{image_tag}", 128),
        service_account=n.serving_account_email(str(project)),
        dedicated_resources=v1.DedicatedResources(
            machine_spec=spec, min_replica_count=ep.min_replicas, max_replica_count=ep.max_replicas
        ),
    )
    traffic_split = split(dict(current.traffic_split), "0", traffic)
    clients.endpoints.deploy_model(
        request=v1.DeployModelRequest(endpoint=endpoint_name, deployed_model=deployed, traffic_split=traffic_split)
    ).result()
    result.traffic = {("new" if k == "0" else k): v for k, v in traffic_split.items()}
    result.steps.append(f"deployed to {endpoint_name}: " + ", ".join(f"{k} {v}%" for k, v in result.traffic.items()))
    return result


def _alias(tag: str) -> str:
    """A Vertex version alias: lowercase letters, digits and hyphens, starting with a letter."""
    alias = re.sub(r"[^a-z0-9-]", "-", tag.lower())
    return alias if alias[:1].isalpha() else f"v{alias}"[:128]


def _label(value: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", value.lower())[:63]


def verify_with(env: ResolvedEnv, clients: GcpClients) -> list[Check]:
    from google.api_core import exceptions as gexc
    from google.cloud import aiplatform_v1 as v1

    bp = env.blueprint
    n = GcpNames(bp.metadata.name, env.name)
    c = bp.components
    parent = f"projects/{bp.target.project_id}/locations/{bp.target.region}"
    key = n.key_path(str(bp.target.project_id), bp.target.region, "ml")
    out: list[Check] = []

    check = run_checks(out, (gexc.GoogleAPICallError,), lambda exc: f"{type(exc).__name__}: {exc.message}")  # type: ignore[attr-defined]

    for name, spec in c.serving.endpoints.items() if c.serving else []:

        def endpoint_ok(name=name, spec=spec):
            ep = clients.endpoints.get_endpoint(
                request=v1.GetEndpointRequest(name=f"{parent}/endpoints/{n.endpoint_id(name)}")
            )
            problems = []
            if ep.encryption_spec.kms_key_name != key:
                problems.append(f"key {ep.encryption_spec.kms_key_name or 'Google-managed'}, want {key}")
            if spec.private and not ep.private_service_connect_config.enable_private_service_connect:
                problems.append("not private (Private Service Connect is off)")
            if spec.capture_requests and not ep.predict_request_response_logging_config.enabled:
                problems.append("request-response logging is off")
            split = (
                ", ".join(f"{d.id} {ep.traffic_split.get(d.id, 0)}%" for d in ep.deployed_models)
                or "nothing deployed yet"
            )
            return not problems, "; ".join(
                problems
            ) or f"{ep.display_name}: CMEK, {'private' if spec.private else 'public'}; {split}"

        check("serving", name, endpoint_ok)

    if c.registry:

        def store_ok():
            store = clients.metadata.get_metadata_store(
                request=v1.GetMetadataStoreRequest(name=f"{parent}/metadataStores/{n.metadata_store}")
            )
            ok = store.encryption_spec.kms_key_name == key
            return (
                ok,
                "lineage store encrypted with the ml key"
                if ok
                else f"key {store.encryption_spec.kms_key_name or 'Google-managed'}",
            )

        check("registry", "metadata-store", store_ok)
        for model in c.registry.models:

            def model_ok(model=model):
                found = list(
                    clients.models.list_models(
                        request=v1.ListModelsRequest(
                            parent=parent, filter=f'display_name="{n.model_display_name(model)}"'
                        )
                    )
                )
                if not found:
                    return True, "no version uploaded yet (rollout uploads the first)"
                m = found[0]
                ok = m.encryption_spec.kms_key_name == key
                return ok, f"{m.name} version {m.version_id}" + (
                    "" if ok else f"; key {m.encryption_spec.kms_key_name or 'Google-managed'}"
                )

            check("registry", model, model_ok)
    return out


def bootstrap_state(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    if env.blueprint.state.backend_for(env.blueprint.target.cloud) != CATALOG.state_backend:
        return  # local state: nothing to create
    from google.cloud import storage

    bootstrap_state_with(env, storage.Client(project=env.blueprint.target.project_id), report)


def delete_state(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    """Never called on GCP: state is deleted only in local (emulator) mode, which GCP has not."""
    raise NotImplementedError("GCP state is never deleted by the tool")


SERVICE_USAGE = "https://serviceusage.googleapis.com/v1"


def prerequisites_with(env: ResolvedEnv, session: Any) -> list[Check]:
    """`session`: an authorized requests session (google.auth's AuthorizedSession). One check per API the
    project must have on before the first apply (PREREQUISITE_APIS), read from Service Usage; a 403 that
    says Service Usage itself is off counts as every one of them off."""
    project = env.blueprint.target.project_id
    out: list[Check] = []
    for api in PREREQUISITE_APIS:
        resp = session.get(f"{SERVICE_USAGE}/projects/{project}/services/{api}")
        if resp.status_code == 200:
            state = str(resp.json().get("state", "STATE_UNSPECIFIED"))
        else:
            message = str((resp.json().get("error") or {}).get("message", "")) if resp.content else ""
            state = f"unreadable (HTTP {resp.status_code}{': ' + message[:200] if message else ''})"
        ok = state == "ENABLED"
        detail = (
            f"{api} enabled"
            if ok
            else f"{api} is {state}; the first apply needs it: run `gcloud services enable {api} --project {project}`"
        )
        out.append(Check("prerequisites", api, ok, detail))
    return out


def verify(env: ResolvedEnv, target: Target) -> list[Check]:
    clients = gcp_clients(env.blueprint.target.region)
    first = prerequisites_with(env, clients.services) if clients.services is not None else []
    return first + verify_with(env, clients)


def rollout(
    env: ResolvedEnv, endpoint: str, image_tag: str, traffic: int, target: Target, artifact: str | None = None
) -> RolloutResult:
    return rollout_with(env, endpoint, image_tag, traffic, gcp_clients(env.blueprint.target.region), artifact)


# --------------------------------------------------------------------------------------------- the glue


class GcpGlue(ModuleGlue):
    """The GCP glue: google-cloud (GCS state, Vertex AI rollouts). `cleanup_rollouts` keeps the base's no-op: nothing
    to clean, as rollouts deploy onto the Terraform-managed Vertex AI endpoints (undeployed with them), and
    model versions stay in the Model Registry by design."""


GLUE = GcpGlue()
