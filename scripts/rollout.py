"""`rollout`: register a new model version and shift a share of an endpoint's traffic to it.

AWS (boto3): a SageMaker model package in the model's group -> a model from that package -> an
endpoint configuration with the current model as `primary` and the new one as `canary` (weights
100-p / p) -> UpdateEndpoint. `--traffic 100` promotes: one `primary` variant with the new model
(the autoscaling target keeps pointing at `primary`).

GCP (google-cloud-aiplatform): UploadModel into the Vertex AI Model Registry (a new version of the
blueprint's model when it exists) -> DeployModel to the blueprint's endpoint with a traffic split
that gives the new deployment p % and scales the current ones to 100-p %.

Both take their SDK clients from the caller, so the tests drive AWS through the embedded emulator
and GCP through a fake that records the exact requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mlops_blueprint.blueprints import clouds
from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.blueprints.naming import Naming, vertex_endpoint_id

CANARY, PRIMARY = "canary", "primary"


class RolloutError(Exception):
    """The rollout cannot start (unknown endpoint, nothing deployed, bad share); nothing was changed."""


@dataclass
class RolloutResult:
    endpoint: str
    version: str  # the registry's name for the new version
    traffic: dict[str, int]  # deployment/variant -> percent
    steps: list[str] = field(default_factory=list)


def _endpoint_spec(env: ResolvedEnv, endpoint: str):
    eps = env.blueprint.components.serving.endpoints if env.blueprint.components.serving else {}
    if endpoint not in eps:
        raise RolloutError(f"endpoint {endpoint!r} is not in the blueprint; endpoints: {', '.join(eps) or 'none'}")
    return eps[endpoint]


def _check_share(traffic: int) -> None:
    if not 1 <= traffic <= 100:
        raise RolloutError(f"--traffic {traffic}: give the new version between 1 and 100 percent")


def split(current: dict[str, int], new_key: str, share: int) -> dict[str, int]:
    """Give `new_key` `share` percent and scale the current split to the rest; sums to exactly 100.
    With nothing deployed yet, the new deployment takes all traffic."""
    if not current:
        return {new_key: 100}
    rest = 100 - share
    total = sum(current.values()) or 1
    scaled = {k: rest * v // total for k, v in current.items()}
    if scaled:  # rounding remainder to the largest current share
        biggest = max(scaled, key=lambda k: (current[k], k))
        scaled[biggest] += rest - sum(scaled.values())
    return {**{k: v for k, v in scaled.items() if v > 0 or share < 100}, new_key: share}


# --- AWS -------------------------------------------------------------------------------------

def rollout_aws(env: ResolvedEnv, endpoint: str, image_tag: str, traffic: int, client: Callable[[str], object],
                artifact: str | None = None) -> RolloutResult:
    _check_share(traffic)
    ep = _endpoint_spec(env, endpoint)
    n = Naming(env.blueprint.metadata.name, env.name)
    sm, ecr, iam = client("sagemaker"), client("ecr"), client("iam")
    ep_name = n.sagemaker(endpoint)
    current = sm.describe_endpoint(EndpointName=ep_name)
    config = sm.describe_endpoint_config(EndpointConfigName=current["EndpointConfigName"])
    variants = {v["VariantName"]: v for v in config["ProductionVariants"]}
    if PRIMARY not in variants:
        raise RolloutError(f"endpoint {ep_name} has no '{PRIMARY}' variant; was it deployed by this blueprint?")
    repo = ecr.describe_repositories(repositoryNames=[n.ecr_repository(ep.model)])["repositories"][0]
    image = f"{repo['repositoryUri']}:{image_tag}"
    data = artifact or f"s3://{n.bucket('model-artifacts')}/{ep.model}/{image_tag}/model.tar.gz"
    result = RolloutResult(endpoint=ep_name, version="", traffic={})

    package = sm.create_model_package(
        ModelPackageGroupName=n.sagemaker(ep.model), ModelApprovalStatus="Approved",
        ModelPackageDescription=f"{ep.model} {image_tag}",
        InferenceSpecification={"Containers": [{"Image": image, "ModelDataUrl": data}],
                                "SupportedContentTypes": ["application/json"],
                                "SupportedResponseMIMETypes": ["application/json"]})
    arn = package["ModelPackageArn"]
    version = arn.rsplit("/", 1)[-1]
    result.version = arn
    result.steps.append(f"registered model package {arn}")

    old_model = sm.describe_model(ModelName=variants[PRIMARY]["ModelName"])
    model_name = _bounded(f"{ep_name}-v{version}", 63)
    sm.create_model(ModelName=model_name, ExecutionRoleArn=iam.get_role(RoleName=n.iam_role("serving"))["Role"]["Arn"],
                    PrimaryContainer={"ModelPackageName": arn}, EnableNetworkIsolation=True,
                    **({"VpcConfig": old_model["VpcConfig"]} if old_model.get("VpcConfig") else {}))
    result.steps.append(f"created model {model_name}")

    primary = variants[PRIMARY]
    # Size and replicas come from the blueprint, so a changed size lands with the next rollout.
    base = {"InstanceType": clouds.serving_instance("aws", ep.size), "InitialInstanceCount": ep.min_replicas}
    if traffic == 100:
        new_variants = [dict(base, VariantName=PRIMARY, ModelName=model_name, InitialVariantWeight=1.0)]
        result.traffic = {PRIMARY: 100}
    else:
        new_variants = [dict(base, VariantName=PRIMARY, ModelName=primary["ModelName"], InitialVariantWeight=float(100 - traffic)),
                        dict(base, VariantName=CANARY, ModelName=model_name, InitialInstanceCount=1,
                             InitialVariantWeight=float(traffic))]
        result.traffic = {PRIMARY: 100 - traffic, CANARY: traffic}
    config_name = _bounded(f"{ep_name}-v{version}-{traffic}", 63)
    extra = {k: config[k] for k in ("KmsKeyId", "DataCaptureConfig") if config.get(k)}
    sm.create_endpoint_config(EndpointConfigName=config_name, ProductionVariants=new_variants, **extra)
    result.steps.append(f"created endpoint configuration {config_name}")
    sm.update_endpoint(EndpointName=ep_name, EndpointConfigName=config_name)
    result.steps.append(f"updated endpoint {ep_name}: " + ", ".join(f"{k} {v}%" for k, v in result.traffic.items()))
    return result


def _bounded(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[:limit].rstrip("-")


# --- GCP -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GcpClients:
    """aiplatform_v1 clients for one region (tests pass fakes with the same methods)."""

    models: object  # ModelServiceClient
    endpoints: object  # EndpointServiceClient
    metadata: object | None = None  # MetadataServiceClient (verify)


def gcp_clients(region: str) -> GcpClients:
    """Real clients on the regional endpoint, with Application Default Credentials."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import aiplatform_v1

    opts = ClientOptions(api_endpoint=f"{region}-aiplatform.googleapis.com")
    return GcpClients(models=aiplatform_v1.ModelServiceClient(client_options=opts),
                      endpoints=aiplatform_v1.EndpointServiceClient(client_options=opts),
                      metadata=aiplatform_v1.MetadataServiceClient(client_options=opts))


def rollout_gcp(env: ResolvedEnv, endpoint: str, image_tag: str, traffic: int, clients: GcpClients,
                artifact: str | None = None) -> RolloutResult:
    from google.cloud import aiplatform_v1 as v1

    _check_share(traffic)
    ep = _endpoint_spec(env, endpoint)
    bp = env.blueprint
    n = Naming(bp.metadata.name, env.name)
    project, region = bp.target.project_id, bp.target.region
    parent = f"projects/{project}/locations/{region}"
    key = f"{parent}/keyRings/{n.gcp_id('keys')}/cryptoKeys/ml"
    display = n.name(ep.model)
    repo = n.gcp_id(ep.model)
    image = f"{region}-docker.pkg.dev/{project}/{repo}/{ep.model}:{image_tag}"
    endpoint_name = f"{parent}/endpoints/{vertex_endpoint_id(n.name(endpoint))}"
    result = RolloutResult(endpoint=endpoint_name, version="", traffic={})

    current = clients.endpoints.get_endpoint(request=v1.GetEndpointRequest(name=endpoint_name))
    existing = list(clients.models.list_models(request=v1.ListModelsRequest(
        parent=parent, filter=f'display_name="{display}"')))
    model = v1.Model(display_name=display, artifact_uri=artifact or f"gs://{n.gcs_bucket('model-artifacts')}/{ep.model}/{image_tag}/",
                     container_spec=v1.ModelContainerSpec(image_uri=image), encryption_spec=v1.EncryptionSpec(kms_key_name=key),
                     version_aliases=[_alias(image_tag)], labels={"mlops_endpoint": endpoint, "image_tag": _label(image_tag)})
    if existing:
        request = v1.UploadModelRequest(parent=parent, model=model, parent_model=existing[0].name)
    else:
        request = v1.UploadModelRequest(parent=parent, model=model, model_id=display)
    uploaded = clients.models.upload_model(request=request).result()
    version = f"{uploaded.model}@{uploaded.model_version_id}"
    result.version = version
    result.steps.append(f"uploaded {version} ({'new version' if existing else 'first version'})")

    machine = clouds.serving_instance("gcp", ep.size)
    accel = clouds.SERVING_ACCELERATORS.get("gcp", {}).get(ep.size)
    spec = v1.MachineSpec(machine_type=machine, **({"accelerator_type": accel[0], "accelerator_count": accel[1]} if accel else {}))
    deployed = v1.DeployedModel(
        model=version, display_name=_bounded(f"{display}-{image_tag}", 128),
        service_account=f"{n.service_account('serving')}@{project}.iam.gserviceaccount.com",
        dedicated_resources=v1.DedicatedResources(machine_spec=spec, min_replica_count=ep.min_replicas,
                                                  max_replica_count=ep.max_replicas))
    traffic_split = split(dict(current.traffic_split), "0", traffic)
    clients.endpoints.deploy_model(request=v1.DeployModelRequest(
        endpoint=endpoint_name, deployed_model=deployed, traffic_split=traffic_split)).result()
    result.traffic = {("new" if k == "0" else k): v for k, v in traffic_split.items()}
    result.steps.append(f"deployed to {endpoint_name}: " + ", ".join(f"{k} {v}%" for k, v in result.traffic.items()))
    return result


def _alias(tag: str) -> str:
    """A Vertex version alias: lowercase letters, digits and hyphens, starting with a letter."""
    alias = re.sub(r"[^a-z0-9-]", "-", tag.lower())
    return alias if alias[:1].isalpha() else f"v{alias}"[:128]


def _label(value: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", value.lower())[:63]
