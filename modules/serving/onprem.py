"""Online serving on an existing Kubernetes cluster: KServe in Standard (formerly RawDeployment) mode,
one InferenceService per blueprint endpoint, namespaced RBAC for invoking and deploying.

Charts (reviewed 2026-11 against the newest release tags upstream):
- KServe v0.20.0: `kserve-crd` (the CRDs) and `kserve-resources` (controller, webhooks, config; the
  chart called `kserve` before 0.16), from `oci://ghcr.io/kserve/charts`. Images default to the chart's
  `kserve.version`, pinned here explicitly. No values.schema.json is published for either chart.
- cert-manager v1.21.1 (`https://charts.jetstack.io`): KServe's chart issues its webhook certificate
  through cert-manager (Issuer + Certificate), so cert-manager is required; its values schema is
  vendored (tests/schemas/charts/cert-manager-v1.21.1.values.schema.json).

Why Standard (RawDeployment) and not Knative: Knative Serving needs its own operator, a networking
layer (Kourier or Istio) and an activator in the request path; on a shared on-prem cluster that is a
lot of cluster-wide machinery for scale-to-zero, which the blueprint does not ask for (min_replicas is
at least 1). Standard mode makes a Deployment + Service + HPA per predictor, reachable in-cluster and,
for public endpoints, through an Ingress of the target's ingress class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cdktn_provider_kubernetes.manifest import Manifest
from cdktn_provider_kubernetes.service_account_v1 import ServiceAccountV1
from constructs import Construct

from mlops_blueprint.blueprints.model import Serving
from mlops_blueprint.modules.baseline.onprem import OnpremBaseline
from mlops_blueprint.modules.onprem_common import CHARTS, Chart, Principal, protect, release
from mlops_blueprint.modules.training.onprem import GPU_RESOURCE, GPU_TOLERATION, k8s_name
from mlops_blueprint.stacks.onprem.catalog import SIZES
from mlops_blueprint.stacks.onprem.names import OnpremNames

if TYPE_CHECKING:  # the registry's construct is only needed for its interface
    from mlops_blueprint.modules.registry.onprem import OnpremRegistry

KSERVE_VERSION = "v0.20.0"
CERT_MANAGER_VERSION = "v1.21.1"
CHARTS["kserve-crd"] = Chart(
    repository="oci://ghcr.io/kserve/charts", chart="kserve-crd", version=KSERVE_VERSION, app_version=KSERVE_VERSION
)
CHARTS["kserve-resources"] = Chart(
    repository="oci://ghcr.io/kserve/charts",
    chart="kserve-resources",
    version=KSERVE_VERSION,
    app_version=KSERVE_VERSION,
)
CHARTS["cert-manager"] = Chart(
    repository="https://charts.jetstack.io",
    chart="cert-manager",
    version=CERT_MANAGER_VERSION,
    app_version=CERT_MANAGER_VERSION,
    values_schema="tests/schemas/charts/cert-manager-v1.21.1.values.schema.json",
)
KSERVE_API = "serving.kserve.io/v1beta1"
DEPLOYMENT_MODE = "Standard"  # KServe >= 0.15 name of RawDeployment (the old name is still accepted)
VISIBILITY_LABEL, CLUSTER_LOCAL = "networking.kserve.io/visibility", "cluster-local"
ISVC_LABEL = "serving.kserve.io/inferenceservice"  # KServe puts it on every predictor pod
PORT = 8080  # the predictor container's HTTP port (KServe's model server default)
PREDICTOR_ACCOUNT = "predictor"
CAPTURE_SERVICE = "request-capture"
# Autoscaling in Standard mode is an HPA; CPU is the metric the HPA has without a metrics adapter.
SCALE_METRIC, SCALE_TARGET = "cpu", 70
# Rollouts (`mlops-blueprint rollout`) split traffic; Terraform leaves the split to them.
COMPUTED_FIELDS = ["metadata.annotations", "metadata.labels", "spec.predictor.canaryTrafficPercent"]
INVOKE_RULES = [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["get", "list"]}]
DEPLOY_RULES = [
    {
        "apiGroups": ["serving.kserve.io"],
        "resources": ["inferenceservices"],
        "verbs": ["get", "list", "watch", "update", "patch"],
    },
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices/status"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["pods", "pods/log", "events"], "verbs": ["get", "list"]},
]
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass(frozen=True)
class ServingProps:
    """spec: endpoints (omitted per endpoint: cpu-medium, 1..2 replicas, capture on, image tag `bootstrap`,
    private). registry: the image registry and models. capture_sink: where the KServe agent posts the
    captured request/response CloudEvents (omitted: `http://request-capture.<serving namespace>.svc.cluster.local`,
    a Service the platform's capture sink provides; not created here). domain: the ingress domain of
    public endpoints (omitted: `<prefix>.internal`)."""

    naming: OnpremNames
    spec: Serving
    baseline: OnpremBaseline
    registry: OnpremRegistry
    protect: bool
    capture_sink: str | None = None
    domain: str | None = None


def container_resources(size: str) -> dict[str, dict[str, str]]:
    """Requests = limits from the catalog's SIZES (a GPU size adds `nvidia.com/gpu`)."""
    cpu, memory, gpus = SIZES[size]
    res = {"cpu": cpu, "memory": memory}
    if gpus:
        res[GPU_RESOURCE] = str(gpus)
    return {"requests": dict(res), "limits": dict(res)}


class OnpremServing(Construct):
    """KServe and one InferenceService per endpoint, all in the serving namespace.

    - cert-manager and the KServe controller in the baseline's system namespace (API server and webhook
      traffic allowed there); default deployment mode Standard; Ingresses of the target's ingress class.
    - `services[name]`: InferenceService `naming.inference_service(name)` with one custom predictor
      container `kserve-container` running `registry.image_uri(model, image_tag)` on port 8080 as the
      ServiceAccount `predictor` (granted pull on the registry), requests = limits from SIZES (GPU sizes
      tolerate `nvidia.com/gpu:NoSchedule`), min/max replicas with an HPA on CPU (70 %), a restricted
      security context; label `networking.kserve.io/visibility: cluster-local` when private (no Ingress);
      logger `mode: all` to the capture sink when capture_requests. KServe's logger has no sampling:
      every request is sent and the sink keeps capture_percent of them. `canaryTrafficPercent` is a
      computed field: rollouts own it.
    - The serving image exports Prometheus metrics on :8080/metrics: KServe's model server histogram
      `request_predict_seconds` (latency, throughput) and `http_requests_total{status}` (errors; from
      prometheus-fastapi-instrumentator on the model server's FastAPI app, since KServe itself counts no
      failures and Standard mode has no queue-proxy). The monitoring component scrapes them.

    `grant_invoke`: get/list InferenceServices (to find the URL) and a NetworkPolicy letting the
    principal's namespace reach the predictors on 8080. `grant_deploy`: get/list/watch/update/patch
    InferenceServices, read their status, pods, pod logs and events. Both namespaced, no wildcards.
    """

    def __init__(self, scope: Construct, id: str, *, props: ServingProps):
        super().__init__(scope, id)
        n, b, reg, spec = props.naming, props.baseline, props.registry, props.spec
        for name, ep in spec.endpoints.items():
            if ep.size not in SIZES:
                raise ValueError(
                    f"serving endpoint {name!r}: size {ep.size!r} is not an on-prem size (allowed: {', '.join(SIZES)})"
                )
            if ep.model not in reg.models:
                raise ValueError(
                    f"serving endpoint {name!r}: model {ep.model!r} is not in the registry "
                    f"(registry models: {', '.join(reg.models)}); add it to components.registry.models"
                )
            if ep.min_replicas > ep.max_replicas:
                raise ValueError(
                    f"serving endpoint {name!r}: min_replicas {ep.min_replicas} exceeds max_replicas {ep.max_replicas}"
                )
        self._baseline = b
        self.namespace: str = b.namespaces["serving"]
        labels = dict(b.labels)
        system, guard = b.system_namespace, b.guards["serving"]
        self.capture_sink = props.capture_sink or f"http://{CAPTURE_SERVICE}.{self.namespace}.svc.cluster.local"
        domain = props.domain or f"{n.prefix}.internal"

        self.cert_manager = release(
            self,
            "cert-manager",
            name=n.release("cert-manager"),
            chart="cert-manager",
            namespace=system,
            depends_on=b.guards["system"],
            values={
                "crds": {"enabled": True, "keep": True},
                "prometheus": {"enabled": True, "servicemonitor": {"enabled": False}},
            },
        )
        self.crds = release(
            self,
            "kserve-crd",
            name=n.release("kserve-crd"),
            chart="kserve-crd",
            namespace=system,
            depends_on=b.guards["system"],
            values={},
        )
        self.controller = release(
            self,
            "kserve",
            name=n.release("kserve"),
            chart="kserve-resources",
            namespace=system,
            depends_on=[self.crds, self.cert_manager],
            values={
                "kserve": {
                    "version": KSERVE_VERSION,
                    "controller": {
                        "deploymentMode": DEPLOYMENT_MODE,
                        "tag": KSERVE_VERSION,
                        "imagePullPolicy": "IfNotPresent",
                        "gateway": {
                            "domain": domain,
                            "urlScheme": "https",
                            "ingressGateway": {
                                "className": b.ingress_class or "nginx",
                                "enableGatewayApi": False,
                                "createGateway": False,
                            },
                        },
                    },
                    "agent": {"tag": KSERVE_VERSION},
                    "router": {"tag": KSERVE_VERSION},
                    "storage": {"tag": KSERVE_VERSION},
                }
            },
        )

        self.predictor = Principal(name=PREDICTOR_ACCOUNT, namespace=self.namespace)
        account = ServiceAccountV1(
            self,
            "predictor-account",
            metadata={"name": PREDICTOR_ACCOUNT, "namespace": self.namespace, "labels": labels},
            depends_on=guard,
        )
        reg.grant_pull(self.predictor, id="serving-predictor-pull")

        self.names: dict[str, str] = {}
        self.services: dict[str, Manifest] = {}
        self.private: dict[str, bool] = {}
        for name, ep in spec.endpoints.items():
            isvc = n.inference_service(name)
            meta_labels = {**labels, "mlops.io/endpoint": name}
            if ep.private:
                meta_labels[VISIBILITY_LABEL] = CLUSTER_LOCAL
            container: dict[str, Any] = {
                "name": "kserve-container",
                "image": reg.image_uri(ep.model, ep.image_tag),
                "ports": [{"containerPort": PORT, "name": "http1", "protocol": "TCP"}],
                "resources": container_resources(ep.size),
                "securityContext": dict(RESTRICTED_CONTAINER),
            }
            predictor: dict[str, Any] = {
                "minReplicas": ep.min_replicas,
                "maxReplicas": ep.max_replicas,
                "scaleMetric": SCALE_METRIC,
                "scaleTarget": SCALE_TARGET,
                "serviceAccountName": PREDICTOR_ACCOUNT,
                "containers": [container],
            }
            if SIZES[ep.size][2]:
                predictor["tolerations"] = [dict(GPU_TOLERATION)]
            if ep.capture_requests:
                predictor["logger"] = {"mode": "all", "url": f"{self.capture_sink}/{name}"}
            self.services[name] = Manifest(
                self,
                name,
                manifest={
                    "apiVersion": KSERVE_API,
                    "kind": "InferenceService",
                    "metadata": {
                        "name": isvc,
                        "namespace": self.namespace,
                        "labels": meta_labels,
                        "annotations": {
                            "serving.kserve.io/deploymentMode": DEPLOYMENT_MODE,
                            "serving.kserve.io/autoscalerClass": "hpa",
                        },
                    },
                    "spec": {"predictor": predictor},
                },
                computed_fields=list(COMPUTED_FIELDS),
                depends_on=[self.controller, account, *guard],
                lifecycle=protect(False),
            )
            self.names[name], self.private[name] = isvc, ep.private

    def grant_invoke(self, principal: Principal, *, id: str) -> None:
        """Call the endpoints: read InferenceServices (their URLs) and reach the predictors on 8080 from
        the principal's namespace."""
        name = k8s_name(id)
        self._baseline.grant(self, name, namespace=self.namespace, principal=principal, rules=INVOKE_RULES)
        if self.services:
            self._baseline.allow(
                self,
                f"{name}-network",
                namespace=self.namespace,
                from_namespaces=[principal.namespace],
                ports=[PORT],
                pod_selector={"component": "predictor"},
            )

    def grant_deploy(self, principal: Principal, *, id: str) -> None:
        """Roll model versions out: update the InferenceServices (image, canary split) and follow them."""
        self._baseline.grant(self, k8s_name(id), namespace=self.namespace, principal=principal, rules=DEPLOY_RULES)
