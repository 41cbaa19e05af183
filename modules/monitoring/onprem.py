"""Monitoring on an existing Kubernetes cluster: kube-prometheus-stack (Prometheus Operator,
Prometheus, Alertmanager, Grafana, kube-state-metrics) in the monitoring namespace, PrometheusRules per
endpoint (p99 latency, error rate, capacity) and per training pool (GPU saturation), Alertmanager
e-mailing the blueprint's notify list, and one Grafana dashboard (a ConfigMap the Grafana sidecar loads)
rendered from templates/onprem_dashboard.json.j2.

Chart: kube-prometheus-stack 88.5.3 (`https://prometheus-community.github.io/helm-charts`, Prometheus
Operator v0.93.1; newest release tag upstream, reviewed 2026-11). It publishes no values.schema.json.

Metrics (names checked against their sources):
- endpoints: `request_predict_seconds_{bucket,count}` (KServe's Python model server, kserve
  python/kserve/kserve/metrics.py, label `model_name`) for p99 latency and throughput, and
  `http_requests_total{status="5xx"}` (prometheus-fastapi-instrumentator on the model server's FastAPI
  app; status grouped as 2xx..5xx) for errors. KServe in Standard mode has no queue-proxy, so the
  Knative `revision_request_*` metrics do not exist; the serving image contract (modules/serving/onprem.py)
  asks for both. Series are selected by namespace and the predictor Deployment's pods `<isvc>-predictor-*`.
- pools: `DCGM_FI_DEV_GPU_UTIL` (DCGM exporter, percent) on whole or time-sliced GPUs; MIG slices do
  not report it, so MIG pools use `DCGM_FI_PROF_GR_ENGINE_ACTIVE` (ratio, x100). A pool's GPUs are
  those on nodes carrying its accelerator's labels: the DCGM series carry `node` (relabelled by the
  training component's ServiceMonitor) and are joined with kube-state-metrics' `kube_node_labels`,
  whose allowlist is set to the pools' label keys here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from cdktn_provider_kubernetes.config_map_v1 import ConfigMapV1
from cdktn_provider_kubernetes.network_policy_v1 import NetworkPolicyV1
from constructs import Construct

from mlops_blueprint.blueprints.model import Monitoring
from mlops_blueprint.modules.baseline.onprem import OnpremBaseline
from mlops_blueprint.modules.onprem_common import CHARTS, Chart, manifest, release
from mlops_blueprint.modules.serving.onprem import PORT, OnpremServing
from mlops_blueprint.modules.training.onprem import OnpremTraining
from mlops_blueprint.stacks.onprem.names import OnpremNames

KPS_VERSION = "88.5.3"
CHARTS["kube-prometheus-stack"] = Chart(
    repository="https://prometheus-community.github.io/helm-charts",
    chart="kube-prometheus-stack",
    version=KPS_VERSION,
    app_version="v0.93.1",
)
TEMPLATES = Path(__file__).parent / "templates"
MONITORING_API = "monitoring.coreos.com/v1"
DASHBOARD_LABEL = "grafana_dashboard"  # the chart's Grafana sidecar loads ConfigMaps with this label = "1"
SMTP_SECRET, GRAFANA_SECRET = "alertmanager-smtp", "grafana-admin"
SECRETS_MOUNT = "/etc/alertmanager/secrets"  # alertmanagerSpec.secrets are mounted at <mount>/<secret>/<key>
LATENCY = "histogram_quantile(0.99, sum by (le) (rate(request_predict_seconds_bucket{{{sel}}}[5m]))) * 1000"
ERRORS = (
    'sum(rate(http_requests_total{{{sel},status="5xx"}}[5m])) / '
    "clamp_min(sum(rate(http_requests_total{{{sel}}}[5m])), 1e-9)"
)
RATE_PER_MIN = "sum(rate(request_predict_seconds_count{{{sel}}}[5m])) * 60"
GPU_UTIL = {
    "none": "DCGM_FI_DEV_GPU_UTIL",
    "time-slicing": "DCGM_FI_DEV_GPU_UTIL",
    "mig": "(DCGM_FI_PROF_GR_ENGINE_ACTIVE * 100)",
}


@dataclass(frozen=True)
class Smtp:
    """Alertmanager's mail relay. The password is never in Terraform: it is read from the Secret
    `alertmanager-smtp` (key `password`) in the monitoring namespace, which the baseline's secret store
    fills from `alertmanager-smtp/password` in the secrets namespace (put there by the operators)."""

    smarthost: str
    sender: str
    username: str
    require_tls: bool = True


@dataclass(frozen=True)
class MonitoringProps:
    """spec: thresholds (omitted: p99 500 ms, 1 % errors, GPUs 95 %) and notify. serving_capacity:
    endpoint -> requests/minute at max replicas. smtp: omitted: `smtp.<domain of the first notify
    address>:587` with STARTTLS required, sender and user `alertmanager@<that domain>`.
    retention/storage: Prometheus retention (omitted 15d) and its volume (omitted 100Gi, target storage class)."""

    naming: OnpremNames
    spec: Monitoring
    baseline: OnpremBaseline
    serving: OnpremServing | None
    training: OnpremTraining | None
    serving_capacity: dict[str, int]
    smtp: Smtp | None = None
    retention: str = "15d"
    storage: str = "100Gi"


def _ksm_label(key: str) -> str:
    """kube-state-metrics' name for a node label: `label_` + the key with every other character as `_`."""
    return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)


def endpoint_selector(namespace: str, isvc: str) -> str:
    return f'namespace="{namespace}",pod=~"{isvc}-predictor-.*"'


def pool_gpu_expr(node_labels: dict[str, str], mode: str) -> str:
    """Mean GPU utilization (%) over the pool's nodes."""
    match = ",".join(f'{_ksm_label(k)}="{v}"' for k, v in sorted(node_labels.items()))
    return f"avg({GPU_UTIL[mode]} * on (node) group_left () max by (node) (kube_node_labels{{{match}}}))"


def render_dashboard(
    title: str, uid: str, endpoints: dict[str, str], pools: dict[str, tuple[str, str]], namespace: str
) -> str:
    """The Grafana dashboard for `endpoints` (name -> InferenceService in `namespace`) and `pools`
    (name -> (GPU utilization expression, ClusterQueue)); canonical, validated JSON."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    eps = []
    for name, isvc in endpoints.items():
        sel = endpoint_selector(namespace, isvc)
        eps.append(
            {
                "name": name,
                "charts": [
                    {
                        "title": f"{name}: p99 latency (ms)",
                        "expr": LATENCY.format(sel=sel),
                        "unit": "ms",
                        "legend": "p99",
                    },
                    {
                        "title": f"{name}: requests/s",
                        "expr": f"sum(rate(request_predict_seconds_count{{{sel}}}[5m]))",
                        "unit": "reqps",
                        "legend": "requests",
                    },
                    {
                        "title": f"{name}: error share",
                        "expr": ERRORS.format(sel=sel),
                        "unit": "percentunit",
                        "legend": "5xx",
                    },
                    {
                        "title": f"{name}: replicas",
                        "unit": "short",
                        "legend": "replicas",
                        "expr": f'kube_deployment_status_replicas_available{{namespace="{namespace}",'
                        f'deployment="{isvc}-predictor"}}',
                    },
                ],
            }
        )
    pls = [
        {
            "name": pool,
            "charts": [
                {"title": f"pool {pool}: GPU utilization %", "expr": expr, "unit": "percent", "legend": "mean"},
                {
                    "title": f"pool {pool}: admitted workloads",
                    "unit": "short",
                    "legend": "admitted",
                    "expr": f'sum(kueue_admitted_active_workloads{{cluster_queue=~"{pool_queue}"}})',
                },
            ],
        }
        for pool, (expr, pool_queue) in pools.items()
    ]
    text = env.get_template("onprem_dashboard.json.j2").render(title=title, uid=uid, endpoints=eps, pools=pls)
    return json.dumps(json.loads(text), sort_keys=True)


class OnpremMonitoring(Construct):
    """- kube-prometheus-stack in the monitoring namespace: Prometheus selects every ServiceMonitor,
      PodMonitor and PrometheusRule in the cluster (not only the chart's own), keeps `retention` on a
      `storage` volume of the target's storage class; Alertmanager e-mails every notify address (one
      receiver, resolved notices on, Watchdog silenced) through `smtp` with the password file from the
      Secret; Grafana's admin credentials come from a generated Secret (never the chart's default
      password), its sidecar loads dashboards labelled `grafana_dashboard: "1"`. node-exporter is off:
      it needs host namespaces and paths, which the namespace's `restricted` Pod Security forbids (node
      metrics come from the kubelet/cAdvisor ServiceMonitors; run node-exporter in a privileged namespace
      if host metrics are needed).
    - `scrapes`: a PodMonitor for the predictors (port http1, /metrics) and the network openings
      Prometheus needs (predictors on 8080; its own egress to scrape targets and the API server).
    - `rules[...]`: PrometheusRule `<endpoint>` with three alerts (p99 latency over latency_p99_ms for 15
      min, 5xx share over error_rate for 15 min, requests/minute over serving_capacity for 15 min) and
      PrometheusRule `pool-<pool>` with one alert (GPU utilization over gpu_utilization_pct for 30 min).
    - `dashboard`: ConfigMap `<prefix>-platform-dashboard` with the rendered dashboard.
    """

    def __init__(self, scope: Construct, id: str, *, props: MonitoringProps):
        super().__init__(scope, id)
        n, spec, b = props.naming, props.spec, props.baseline
        a = spec.alerts
        self.namespace: str = b.namespaces["monitoring"]
        labels = dict(b.labels)
        guard = b.guards["monitoring"]
        domain = spec.notify[0].split("@", 1)[1]
        smtp = props.smtp or Smtp(
            smarthost=f"smtp.{domain}:587", sender=f"alertmanager@{domain}", username=f"alertmanager@{domain}"
        )
        if props.serving:
            missing = sorted(set(props.serving.names) - set(props.serving_capacity))
            if missing:
                raise ValueError(
                    f"monitoring: serving_capacity lacks endpoints {', '.join(missing)} "
                    "(requests/minute at max replicas, one per endpoint)"
                )
        self.notify = list(spec.notify)

        smtp_secret = b.external_secret(
            self,
            "smtp-secret",
            namespace=self.namespace,
            name=SMTP_SECRET,
            keys={"password": f"{SMTP_SECRET}/password"},
            depends_on=guard,
        )
        grafana_secret = b.generated_secret(
            self,
            "grafana-secret",
            namespace=self.namespace,
            name=GRAFANA_SECRET,
            keys=["admin-password"],
            template={"admin-user": "admin"},
            depends_on=guard,
        )
        node_label_keys = sorted(
            {k for labels_ in (props.training.node_labels.values() if props.training else []) for k in labels_}
        )
        alertmanager_config = {
            "global": {
                "resolve_timeout": "5m",
                "smtp_smarthost": smtp.smarthost,
                "smtp_from": smtp.sender,
                "smtp_auth_username": smtp.username,
                "smtp_auth_password_file": f"{SECRETS_MOUNT}/{SMTP_SECRET}/password",
                "smtp_require_tls": smtp.require_tls,
            },
            "route": {
                "receiver": "email",
                "group_by": ["alertname", "namespace"],
                "group_wait": "30s",
                "group_interval": "5m",
                "repeat_interval": "4h",
                "routes": [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}],
            },
            "receivers": [
                {"name": "null"},
                {"name": "email", "email_configs": [{"to": addr, "send_resolved": True} for addr in spec.notify]},
            ],
        }
        storage = {
            "volumeClaimTemplate": {
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": props.storage}},
                    **({"storageClassName": b.storage_class} if b.storage_class else {}),
                }
            }
        }
        values: dict[str, Any] = {
            "crds": {"enabled": True},
            "nodeExporter": {"enabled": False},
            "alertmanager": {"config": alertmanager_config, "alertmanagerSpec": {"secrets": [SMTP_SECRET]}},
            "prometheus": {
                "prometheusSpec": {
                    "retention": props.retention,
                    "storageSpec": storage,
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    "ruleSelectorNilUsesHelmValues": False,
                    "probeSelectorNilUsesHelmValues": False,
                }
            },
            "grafana": {
                "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
                "sidecar": {
                    "dashboards": {
                        "enabled": True,
                        "label": DASHBOARD_LABEL,
                        "labelValue": "1",
                        "searchNamespace": "ALL",
                    }
                },
            },
            "kube-state-metrics": {
                "metricLabelsAllowlist": [f"nodes=[{','.join(node_label_keys)}]"] if node_label_keys else []
            },
        }
        # Prometheus scrapes every namespace and the kubelets; the operator and its webhook talk to the
        # API server; Alertmanager reaches the mail relay.
        self.egress = NetworkPolicyV1(
            self,
            "monitoring-egress",
            metadata={"name": "monitoring-egress", "namespace": self.namespace},
            spec={
                "pod_selector": {},
                "policy_types": ["Egress", "Ingress"],
                "egress": [{"to": [{"ip_block": {"cidr": "0.0.0.0/0"}}]}],
                "ingress": [
                    {"from": [{"ip_block": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": "10250", "protocol": "TCP"}]}
                ],
            },
            depends_on=guard,
        )
        self.stack = release(
            self,
            "kube-prometheus-stack",
            name=n.release("monitoring"),
            chart="kube-prometheus-stack",
            namespace=self.namespace,
            values=values,
            depends_on=[*guard, smtp_secret, grafana_secret, self.egress],
        )

        self.rules: dict[str, Any] = {}
        endpoints: dict[str, str] = {}
        if props.serving:
            sv = props.serving
            ns = sv.namespace
            self.scrapes = manifest(
                self,
                "predictor-pod-monitor",
                {
                    "apiVersion": MONITORING_API,
                    "kind": "PodMonitor",
                    "metadata": {"name": "predictors", "namespace": ns, "labels": labels},
                    "spec": {
                        "selector": {
                            "matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]
                        },
                        "podMetricsEndpoints": [{"port": "http1", "path": "/metrics", "interval": "30s"}],
                    },
                },
                depends_on=[self.stack],
            )
            b.allow(
                self,
                "prometheus-scrapes-predictors",
                namespace=ns,
                from_namespaces=[self.namespace],
                ports=[PORT],
                pod_selector={"component": "predictor"},
            )
            for name, isvc in sv.names.items():
                endpoints[name] = isvc
                sel = endpoint_selector(ns, isvc)
                capacity = props.serving_capacity[name]
                self.rules[name] = self._rule(
                    name,
                    k8s(name),
                    labels,
                    [
                        self._alert(
                            f"{name}-latency-p99",
                            f"{LATENCY.format(sel=sel)} > {a.latency_p99_ms}",
                            "15m",
                            f"p99 prediction latency of {name} above {a.latency_p99_ms} ms",
                            name,
                        ),
                        self._alert(
                            f"{name}-error-rate",
                            f"{ERRORS.format(sel=sel)} > {a.error_rate}",
                            "15m",
                            f"5xx share of {name} above {a.error_rate:.2%}",
                            name,
                        ),
                        self._alert(
                            f"{name}-at-capacity",
                            f"{RATE_PER_MIN.format(sel=sel)} > {capacity}",
                            "15m",
                            f"{name} receives more than {capacity} requests/minute, what its max replicas "
                            "are sized for",
                            name,
                        ),
                    ],
                )
        pools: dict[str, tuple[str, str]] = {}
        if props.training:
            tr = props.training
            for pool, node_labels in tr.node_labels.items():
                expr = pool_gpu_expr(node_labels, tr.sharing[pool])
                pools[pool] = (expr, tr.queues[pool])
                self.rules[f"pool-{pool}"] = self._rule(
                    f"pool-{pool}",
                    f"pool-{k8s(pool)}",
                    labels,
                    [
                        self._alert(
                            f"pool-{pool}-gpu-saturated",
                            f"{expr} > {a.gpu_utilization_pct}",
                            "30m",
                            f"GPU utilization of pool {pool} above {a.gpu_utilization_pct} % for 30 min",
                            pool,
                        )
                    ],
                )
        self.dashboard = ConfigMapV1(
            self,
            "dashboard",
            metadata={
                "name": f"{n.prefix}-platform-dashboard",
                "namespace": self.namespace,
                "labels": {**labels, DASHBOARD_LABEL: "1"},
            },
            data={
                f"{n.prefix}-platform.json": render_dashboard(
                    f"{n.prefix} platform",
                    f"{n.prefix}-platform"[:40],
                    endpoints,
                    pools,
                    props.serving.namespace if props.serving else "",
                )
            },
            depends_on=guard,
        )

    @staticmethod
    def _alert(alert: str, expr: str, for_: str, summary: str, subject: str) -> dict[str, Any]:
        return {
            "alert": alert,
            "expr": expr,
            "for": for_,
            "labels": {"severity": "warning", "subject": subject},
            "annotations": {"summary": summary},
        }

    def _rule(self, id: str, name: str, labels: dict[str, str], alerts: list[dict[str, Any]]) -> Any:
        return manifest(
            self,
            f"{id}-rules",
            {
                "apiVersion": MONITORING_API,
                "kind": "PrometheusRule",
                "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
                "spec": {"groups": [{"name": name, "rules": alerts}]},
            },
            depends_on=[self.stack],
        )


def k8s(name: str) -> str:
    return name.replace("_", "-").lower()
