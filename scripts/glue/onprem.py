"""On-prem glue (the kubernetes client, MLflow): state bootstrap, `verify`, `rollout`.

verify: read back what the on-prem stack promises (see stacks/onprem and modules/*/onprem.py):
- each platform namespace (the five planes and the personas namespace): it exists, Pod Security
  Admission enforces `restricted`, it has a ResourceQuota, a default-deny NetworkPolicy covers both
  ingress and egress, and no Role in it grants `*` verbs or `*` resources;
- each training pool's Kueue ClusterQueue and its GPU quota (`gpu_quota`: max_nodes x gpus_per_node
  whole GPUs; time-slicing: x replicas; MIG: the `nvidia.com/mig-<profile>` resource, slices per GPU);
- each endpoint's KServe InferenceService: Ready, the blueprint's min/max replicas, cluster-local when
  private, request logging (`logger.mode: all`) when requests are captured;
- which versions of each blueprint model the MLflow model registry holds (none yet is fine).
Kubernetes API errors (ApiException) and MLflow errors (MlflowException) become failed checks.

rollout: a model version in the MLflow registry (the registered model `<blueprint>-<env>-<model>` is
created when missing; the version's source is the artifact, by default
`s3://<blueprint>-<env>-model-artifacts/<model>/<tag>/`, tagged `image_tag`; a version with the same
tag and source is reused, so a retried rollout registers nothing twice) -> a merge patch of the
endpoint's InferenceService: the predictor image retagged to the new tag, and `canaryTrafficPercent`
p (KServe routes p % to the new revision and 100-p % to the last rolled-out one; `--traffic 100`
removes the field, which is how KServe promotes: the new revision takes everything). Canary rollouts
need KServe's Serverless (Knative) mode; an InferenceService annotated RawDeployment/Standard refuses
a share below 100 rather than have KServe switch all traffic at once.

Where it connects:
- Kubernetes: the kubeconfig in KUBE_CONFIG_PATH (the Terraform providers' variable, which the stack
  uses), else KUBECONFIG, else ~/.kube/config, on the context `target.kube_context`;
- MLflow: MLFLOW_TRACKING_URI when set, else the in-cluster service URL
  (`http://mlflow.<blueprint>-<env>-registry.svc.cluster.local:5000`), which resolves only inside the
  cluster: from a workstation or a CI runner outside it, run
  `kubectl -n <blueprint>-<env>-registry port-forward svc/mlflow 5000:5000` and set
  MLFLOW_TRACKING_URI=http://127.0.0.1:5000. MlflowClient reads MLFLOW_TRACKING_TOKEN (or
  MLFLOW_TRACKING_USERNAME/PASSWORD) for an authenticated server.

State bootstrap: Terraform's kubernetes backend keeps the state in a Secret (with a Lease lock) in the
namespace `<blueprint>-<env>-tfstate`; the bootstrap creates that namespace, labelled and Pod Security
`restricted`, when it is missing.

The `*_with` functions take their clients from the caller, so the tests drive them through recording
fakes of the Kubernetes APIs and a real MLflow server.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.blueprints.neutral import gpu_quota
from mlops_blueprint.scripts.glue import (
    CANARY,
    PRIMARY,
    Check,
    ModuleGlue,
    Reporter,
    RolloutError,
    RolloutResult,
    Target,
    check_share,
    endpoint_spec,
    run_checks,
)
from mlops_blueprint.stacks.onprem import PLATFORM_LABEL
from mlops_blueprint.stacks.onprem.catalog import CATALOG
from mlops_blueprint.stacks.onprem.names import PLANES, OnpremNames

CREDENTIALS_HINT = "set KUBECONFIG / KUBE_CONFIG_PATH to a kubeconfig holding the context target.kube_context"

# Custom resources: (group, version, plural).
KSERVE = ("serving.kserve.io", "v1beta1", "inferenceservices")
KUEUE = ("kueue.x-k8s.io", "v1beta1", "clusterqueues")
KSERVE_CONTAINER = "kserve-container"  # KServe's name for a custom predictor's serving container
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
RAW_MODES = ("RawDeployment", "Standard")  # no canary: KServe moves all traffic at once
VISIBILITY = "networking.kserve.io/visibility"

PSA = "pod-security.kubernetes.io"
PSA_LEVEL = "restricted"
STATE_LABELS = {"app.kubernetes.io/managed-by": "mlops-blueprint"}

# MLflow in the cluster (modules/registry/onprem.py; keep in step): service, port.
MLFLOW_SERVICE, MLFLOW_PORT = "mlflow", 5000
RECENT_VERSIONS = 5  # versions listed in a registry check's detail


def credential_errors() -> tuple[type[Exception], ...]:
    """ConfigException: no kubeconfig, or no such context in it (raised when the clients are built)."""
    try:
        from kubernetes.config.config_exception import ConfigException
    except ImportError:  # the kubernetes client is not installed
        return ()
    return (ConfigException,)


def credentials_problem() -> str | None:
    """The kubeconfig the glue and the providers read (`kubeconfig_path`): set but empty, or naming no
    file, is a mistake; whether it holds target.kube_context is checked when the clients are built."""
    from mlops_blueprint.scripts.glue import empty_variable, missing_file

    names = ("KUBE_CONFIG_PATH", "KUBECONFIG")
    problem = empty_variable(names) or missing_file(names)
    if problem:
        return problem
    path = kubeconfig_path()
    if not any(os.path.isfile(p) for p in path.split(os.pathsep) if p):
        return f"no kubeconfig at {path} (and neither KUBE_CONFIG_PATH nor KUBECONFIG names one)"
    return None


def names(env: ResolvedEnv) -> OnpremNames:
    return OnpremNames(env.blueprint.metadata.name, env.name)


def platform_namespaces(env: ResolvedEnv) -> dict[str, str]:
    """plane -> namespace for the five planes, plus the personas namespace (modules/baseline/onprem.py)."""
    n = names(env)
    return {**{plane: n.namespace(plane) for plane in PLANES}, "personas": n.name("personas")}


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _api_status(exc: Exception) -> int | None:
    return getattr(exc, "status", None)


def describe(exc: Exception) -> str:
    """One line for a failed check: the API's status and message, without headers or bodies."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        message = ""
        try:
            message = json.loads(exc.body or "{}").get("message", "")
        except (ValueError, AttributeError):
            pass
        return f"ApiException: {exc.status} {exc.reason}" + (f": {message}" if message else "")
    text = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {str(text).splitlines()[0] if text else ''}"


# ---------------------------------------------------------------------------------------------- state


def state_namespace_body(env: ResolvedEnv) -> Any:
    from kubernetes import client

    n = names(env)
    labels = {
        **STATE_LABELS,
        "mlops.io/blueprint": env.blueprint.metadata.name,
        PLATFORM_LABEL: env.name,
        f"{PSA}/enforce": PSA_LEVEL,
        f"{PSA}/audit": PSA_LEVEL,
        f"{PSA}/warn": PSA_LEVEL,
    }
    return client.V1Namespace(metadata=client.V1ObjectMeta(name=n.state_namespace, labels=labels))


def bootstrap_state_with(env: ResolvedEnv, core_api: Any, report: Reporter) -> None:
    """Create the state namespace (Pod Security restricted) when it is missing. `core_api`: a
    kubernetes.client.CoreV1Api on the target context. Terraform's kubernetes backend creates its
    Secret and Lease in it."""
    from kubernetes.client.exceptions import ApiException

    name = names(env).state_namespace
    try:
        core_api.read_namespace(name)
        return
    except ApiException as exc:
        if exc.status != 404:
            raise
    report(f"creating state namespace {name}")
    try:
        core_api.create_namespace(state_namespace_body(env))
    except ApiException as exc:
        if exc.status != 409:  # 409: created concurrently
            raise


def kubeconfig_path() -> str:
    """KUBE_CONFIG_PATH (the providers'), else KUBECONFIG (may list several files), else ~/.kube/config.
    Read here, not at import: the client library reads KUBECONFIG once, when it is imported."""
    return os.environ.get("KUBE_CONFIG_PATH") or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def api_client(env: ResolvedEnv) -> Any:
    """A kubernetes ApiClient on the target's kubeconfig context (no global configuration is changed).
    Raises ConfigException (a credential error) when the kubeconfig or the context is missing."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    path, context = kubeconfig_path(), env.blueprint.target.kube_context
    try:
        return config.new_client_from_config(config_file=path, context=context)
    except ConfigException as exc:
        raise ConfigException(f"cannot load the kubeconfig context {context!r} from {path}: {exc}") from None


def bootstrap_state(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    if env.blueprint.state.backend_for(env.blueprint.target.cloud) != CATALOG.state_backend:
        return  # local state: nothing to create
    from kubernetes import client

    bootstrap_state_with(env, client.CoreV1Api(api_client(env)), report)


def delete_state(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    """Never called on-prem: state is deleted only in local (emulator) mode, which on-prem has not."""
    raise NotImplementedError("on-prem state is never deleted by the tool")


# ---------------------------------------------------------------------------------------------- clients


@dataclass(frozen=True)
class KubeClients:
    """The kubernetes client APIs the glue uses (tests pass fakes with the same methods)."""

    core: Any  # CoreV1Api
    custom: Any  # CustomObjectsApi
    rbac: Any  # RbacAuthorizationV1Api
    networking: Any  # NetworkingV1Api


def kube_clients(env: ResolvedEnv) -> KubeClients:
    from kubernetes import client

    api = api_client(env)
    return KubeClients(
        core=client.CoreV1Api(api),
        custom=client.CustomObjectsApi(api),
        rbac=client.RbacAuthorizationV1Api(api),
        networking=client.NetworkingV1Api(api),
    )


def tracking_uri(env: ResolvedEnv) -> str:
    """MLFLOW_TRACKING_URI, else the in-cluster service URL, which needs a port-forward from outside the
    cluster: `kubectl -n <ns> port-forward svc/mlflow 5000:5000` and MLFLOW_TRACKING_URI=http://127.0.0.1:5000."""
    return (
        os.environ.get("MLFLOW_TRACKING_URI")
        or f"http://{MLFLOW_SERVICE}.{names(env).namespace('registry')}.svc.cluster.local:{MLFLOW_PORT}"
    )


def mlflow_client(env: ResolvedEnv) -> Any:
    """An MlflowClient for tracking and the model registry (no I/O until the first call)."""
    from mlflow import MlflowClient

    uri = tracking_uri(env)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


# -------------------------------------------------------------------------------------------- rollout


def retag(image: str, tag: str) -> str:
    """`registry/path/name[:tag][@digest]` -> `registry/path/name:<tag>` (a registry port is kept)."""
    base = image.split("@", 1)[0]
    if base.rfind(":") > base.rfind("/"):
        base = base[: base.rfind(":")]
    return f"{base}:{tag}"


def _predictor_patch(isvc: dict, where: str, image_tag: str, traffic: int) -> tuple[dict, str]:
    """The predictor half of the merge patch, and the new image. A custom predictor's `containers` list
    is replaced whole (merge patch), with only the serving container's image changed."""
    predictor = _get(isvc, "spec", "predictor") or {}
    containers = predictor.get("containers") or []
    if containers:
        containers = [dict(c) for c in containers]
        i = next((i for i, c in enumerate(containers) if c.get("name") == KSERVE_CONTAINER), 0)
        if not containers[i].get("image"):
            raise RolloutError(f"InferenceService {where}: the predictor container has no image to retag")
        image = containers[i]["image"] = retag(containers[i]["image"], image_tag)
        patch: dict[str, Any] = {"containers": containers}
    elif _get(predictor, "model", "image"):
        image = retag(predictor["model"]["image"], image_tag)
        patch = {"model": {"image": image}}
    else:
        raise RolloutError(
            f"InferenceService {where}: the predictor has no container image to retag "
            "(neither spec.predictor.containers nor spec.predictor.model.image); was it deployed by "
            "this blueprint?"
        )
    # KServe promotes by removing canaryTrafficPercent (null in a merge patch): the latest revision takes all.
    patch["canaryTrafficPercent"] = None if traffic == 100 else traffic
    return patch, image


def rollout_with(
    env: ResolvedEnv,
    endpoint: str,
    image_tag: str,
    traffic: int,
    mlflow_client: Any,
    custom_objects_api: Any,
    artifact: str | None = None,
) -> RolloutResult:
    """`mlflow_client`: an mlflow.MlflowClient on the platform's MLflow; `custom_objects_api`: a
    kubernetes.client.CustomObjectsApi on the target context. Nothing changes when the rollout cannot
    start: the InferenceService is read and the patch computed before MLflow is written to."""
    from kubernetes.client.exceptions import ApiException
    from mlflow.exceptions import RestException

    check_share(traffic)
    ep = endpoint_spec(env, endpoint)
    n = names(env)
    namespace, isvc_name = n.namespace("serving"), n.inference_service(endpoint)
    where = f"{namespace}/{isvc_name}"
    group, version, plural = KSERVE
    try:
        isvc = custom_objects_api.get_namespaced_custom_object(group, version, namespace, plural, isvc_name)
    except ApiException as exc:
        if exc.status == 404:
            raise RolloutError(
                f"InferenceService {isvc_name} does not exist in namespace {namespace}; deploy the environment first"
            ) from None
        raise
    mode = (_get(isvc, "metadata", "annotations") or {}).get(DEPLOYMENT_MODE, "")
    if traffic < 100 and mode in RAW_MODES:
        raise RolloutError(
            f"InferenceService {where} runs in KServe's {mode} mode, which has no canary: roll out "
            "with --traffic 100, or serve it in Serverless (Knative) mode"
        )
    predictor, image = _predictor_patch(isvc, where, image_tag, traffic)
    result = RolloutResult(endpoint=where, version="", traffic={})

    registered = n.registered_model(ep.model)
    try:
        mlflow_client.create_registered_model(
            registered,
            tags={"mlops.io/blueprint": env.blueprint.metadata.name, PLATFORM_LABEL: env.name},
            description=f"{ep.model} ({env.blueprint.metadata.name}, environment {env.name})",
        )
        result.steps.append(f"created registered model {registered} in MLflow")
    except RestException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    source = artifact or f"s3://{n.artifacts_bucket}/{ep.model}/{image_tag}/"
    same = [
        v
        for v in mlflow_client.search_model_versions(f"name='{registered}'")
        if (v.tags or {}).get("image_tag") == image_tag and v.source == source
    ]
    if same:
        mv = max(same, key=lambda v: int(v.version))
        result.steps.append(f"reusing {registered} version {mv.version} (image tag {image_tag}, source {source})")
    else:
        mv = mlflow_client.create_model_version(name=registered, source=source, tags={"image_tag": image_tag})
        result.steps.append(f"registered {registered} version {mv.version} (image tag {image_tag}, source {source})")
    result.version = f"models:/{registered}/{mv.version}"

    custom_objects_api.patch_namespaced_custom_object(
        group, version, namespace, plural, isvc_name, {"spec": {"predictor": predictor}}
    )
    result.traffic = {PRIMARY: 100} if traffic == 100 else {PRIMARY: 100 - traffic, CANARY: traffic}
    if traffic == 100:
        result.steps.append(
            f"patched InferenceService {where}: image {image}, promoted (canaryTrafficPercent "
            "removed: the new revision takes all traffic)"
        )
    else:
        result.steps.append(
            f"patched InferenceService {where}: image {image}, canaryTrafficPercent {traffic} "
            f"(the last rolled-out revision keeps {100 - traffic}%)"
        )
    return result


def rollout(
    env: ResolvedEnv, endpoint: str, image_tag: str, traffic: int, target: Target, artifact: str | None = None
) -> RolloutResult:
    """Real clients: the kubeconfig context `target.kube_context`; MLflow at MLFLOW_TRACKING_URI, else the
    in-cluster URL, which needs `kubectl port-forward` from outside the cluster (see `tracking_uri`)."""
    check_share(traffic)
    endpoint_spec(env, endpoint)  # refuse before touching the kubeconfig
    return rollout_with(env, endpoint, image_tag, traffic, mlflow_client(env), kube_clients(env).custom, artifact)


# --------------------------------------------------------------------------------------------- verify


def _default_deny(policies: list[Any]) -> set[str]:
    """The directions ("Ingress", "Egress") that a policy selecting every pod, with no rules, denies."""
    denied: set[str] = set()
    for p in policies:
        spec = p.spec
        selector = spec.pod_selector
        if selector is not None and (selector.match_labels or selector.match_expressions):
            continue
        for direction in spec.policy_types or ["Ingress"]:
            if not getattr(spec, direction.lower()):
                denied.add(direction)
    return denied


def _wildcard_roles(roles: list[Any]) -> list[str]:
    return sorted(
        r.metadata.name
        for r in roles
        if any("*" in (rule.verbs or []) or "*" in (rule.resources or []) for rule in r.rules or [])
    )


def _queue_quota(queue: dict, resource: str) -> tuple[int | None, list[str]]:
    """The nominal quota of `resource` summed over the ClusterQueue's flavors (None: not covered), and
    the flavors that hold it."""
    from kubernetes.utils import parse_quantity

    total, flavors = None, []
    for group in _get(queue, "spec", "resourceGroups") or []:
        for flavor in group.get("flavors") or []:
            for r in flavor.get("resources") or []:
                if r.get("name") == resource:
                    total = (total or 0) + int(parse_quantity(str(r.get("nominalQuota", 0))))
                    flavors.append(str(flavor.get("name")))
    return total, flavors


def _condition(obj: dict, kind: str) -> dict:
    return next((c for c in _get(obj, "status", "conditions") or [] if c.get("type") == kind), {})


def verify_with(
    env: ResolvedEnv, core_api: Any, custom_objects_api: Any, rbac_api: Any, networking_api: Any, mlflow_client: Any
) -> list[Check]:
    """The kubernetes client APIs (CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, NetworkingV1Api)
    on the target context, and an MlflowClient on the platform's MLflow."""
    from kubernetes.client.exceptions import ApiException
    from mlflow.exceptions import MlflowException

    bp = env.blueprint
    n = names(env)
    c = bp.components
    out: list[Check] = []
    check = run_checks(out, (ApiException, MlflowException), describe)

    for ns in platform_namespaces(env).values():

        def namespace_ok(ns=ns) -> tuple[bool, str]:
            try:
                labels = core_api.read_namespace(ns).metadata.labels or {}
            except ApiException as exc:
                if exc.status == 404:
                    return False, f"namespace {ns} does not exist (deploy the environment first)"
                raise
            problems = []
            enforce = labels.get(f"{PSA}/enforce")
            if enforce != PSA_LEVEL:
                problems.append(f"Pod Security enforce {enforce or 'unset'}, want {PSA_LEVEL}")
            quotas = sorted(q.metadata.name for q in core_api.list_namespaced_resource_quota(ns).items)
            if not quotas:
                problems.append("no ResourceQuota")
            missing = {"Ingress", "Egress"} - _default_deny(networking_api.list_namespaced_network_policy(ns).items)
            if missing:
                problems.append(f"no default-deny NetworkPolicy for {' and '.join(sorted(d.lower() for d in missing))}")
            roles = rbac_api.list_namespaced_role(ns).items
            wild = _wildcard_roles(roles)
            if wild:
                problems.append(f"Role(s) with '*' verbs or resources: {', '.join(wild)}")
            if problems:
                return False, "; ".join(problems)
            return True, (
                f"Pod Security {PSA_LEVEL}; quota {', '.join(quotas)}; default-deny ingress and egress; "
                f"{len(roles)} Role(s), no wildcards"
            )

        check("baseline", ns, namespace_ok)

    for pool_name, pool in c.training.pools.items() if c.training else []:

        def queue_ok(pool_name=pool_name, pool=pool) -> tuple[bool, str]:
            name = n.cluster_queue(pool_name)
            group, version, plural = KUEUE
            queue = custom_objects_api.get_cluster_custom_object(group, version, plural, name)
            quota = gpu_quota(pool)  # the same quota the cluster stack's ClusterQueue was made with
            resource, want = quota.resource, quota.quantity
            have, flavors = _queue_quota(queue, resource)
            if have is None:
                return False, f"ClusterQueue {name} has no quota for {resource} (want {want})"
            if have != want:
                return False, f"ClusterQueue {name}: {resource} quota {have}, want {want}"
            return True, f"ClusterQueue {name}: {resource} {have} ({', '.join(flavors)})"

        check("training", pool_name, queue_ok)

    for ep_name, spec in c.serving.endpoints.items() if c.serving else []:

        def service_ok(ep_name=ep_name, spec=spec) -> tuple[bool, str]:
            name, ns = n.inference_service(ep_name), n.namespace("serving")
            group, version, plural = KSERVE
            isvc = custom_objects_api.get_namespaced_custom_object(group, version, ns, plural, name)
            predictor = _get(isvc, "spec", "predictor") or {}
            problems = []
            ready = _condition(isvc, "Ready")
            if ready.get("status") != "True":
                why = ": ".join(str(v) for v in (ready.get("reason"), ready.get("message")) if v)
                problems.append("not Ready" + (f" ({why})" if why else ""))
            for key, want in (("minReplicas", spec.min_replicas), ("maxReplicas", spec.max_replicas)):
                if predictor.get(key) != want:
                    problems.append(f"{key} {predictor.get(key)}, want {want}")
            visibility = (_get(isvc, "metadata", "labels") or {}).get(VISIBILITY)
            if spec.private and visibility != "cluster-local":
                problems.append(
                    f"{VISIBILITY} {visibility or 'unset'} (reachable from outside the cluster), want cluster-local"
                )
            if spec.capture_requests and _get(predictor, "logger", "mode") != "all":
                problems.append(f"request logging {_get(predictor, 'logger', 'mode') or 'off'}, want all")
            if problems:
                return False, f"{name}: " + "; ".join(problems)
            split = _get(isvc, "status", "components", "predictor", "traffic") or []
            traffic = ", ".join(f"{t.get('revisionName', '?')} {t.get('percent', 0)}%" for t in split)
            return True, (
                f"{name}: Ready, replicas {spec.min_replicas}-{spec.max_replicas}"
                f"{', cluster-local' if spec.private else ''}" + (f"; {traffic}" if traffic else "")
            )

        check("serving", ep_name, service_ok)

    for model in c.registry.models if c.registry else []:

        def model_ok(model=model) -> tuple[bool, str]:
            registered = n.registered_model(model)
            versions = sorted(mlflow_client.search_model_versions(f"name='{registered}'"), key=lambda v: int(v.version))
            if not versions:
                return True, f"{registered}: no version yet (rollout registers the first)"
            listed = ", ".join(
                f"{v.version} ({(v.tags or {}).get('image_tag', 'no image tag')})" for v in versions[-RECENT_VERSIONS:]
            )
            return True, f"{registered}: {len(versions)} version(s): {listed}"

        check("registry", model, model_ok)
    return out


def verify(env: ResolvedEnv, target: Target) -> list[Check]:
    """Real clients: the kubeconfig context `target.kube_context`; MLflow at MLFLOW_TRACKING_URI, else the
    in-cluster URL, which needs `kubectl port-forward` from outside the cluster (see `tracking_uri`)."""
    k = kube_clients(env)
    return verify_with(env, k.core, k.custom, k.rbac, k.networking, mlflow_client(env))


# --------------------------------------------------------------------------------------------- the glue


class OnpremGlue(ModuleGlue):
    """The on-prem glue: the Kubernetes client (state namespace, KServe rollouts) and MLflow. `cleanup_rollouts` keeps
    the base's no-op: nothing to clean, as rollouts patch the Terraform-managed InferenceService, and MLflow
    versions go with the registry's database."""


GLUE = OnpremGlue()
