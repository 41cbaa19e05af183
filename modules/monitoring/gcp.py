"""Monitoring on GCP: alert policies per endpoint (p99 latency, error rate, capacity) and per pool
(accelerator saturation) to the baseline's notification channels, and one dashboard rendered from
a template (templates/gcp_dashboard.json.j2).

Which GPU metric the pool alerts read, and why it exists: `kubernetes.io/container/accelerator/duty_cycle`,
a GKE *system* metric (GA; system metrics are on by default, `SYSTEM_COMPONENTS`), written per container
that requests an accelerator, for the NVIDIA GPUs the catalog offers (T4, L4, A100, H100) and for TPUs,
on every GKE version the catalog allows (1.31+). The training pods carry the pool label, so the alert
filters on it. GKE's richer managed DCGM metrics (`prometheus.googleapis.com/DCGM_FI_DEV_GPU_UTIL/gauge`
and the DCGM_FI_PROF_* profiling fields, on the `prometheus_target` resource) need Managed Service for
Prometheus and the cluster's `monitoring_config` DCGM component (on by default for clusters created on
GKE 1.32.1-gke.1357000 or later, NVIDIA GPUs only, no TPUs); they carry node and GPU labels but not the
pod's pool label, so they suit the dashboard rather than a per-pool alert. Not verified here: whether
duty_cycle is reported for containers on time-shared or MIG-partitioned GPUs; check the metric in
Metrics Explorer after a first job on a shared pool."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
from cdktn_provider_google.monitoring_alert_policy import (
    MonitoringAlertPolicy,
)
from cdktn_provider_google.monitoring_alert_policy import (
    MonitoringAlertPolicyConditions as Condition,
)
from cdktn_provider_google.monitoring_alert_policy import (
    MonitoringAlertPolicyConditionsConditionThresholdAggregations as Aggregation,
)
from cdktn_provider_google.monitoring_alert_policy import (
    MonitoringAlertPolicyConditionsConditionThresholdDenominatorAggregations as DenominatorAggregation,
)
from cdktn_provider_google.monitoring_dashboard import MonitoringDashboard
from constructs import Construct

from mlops_blueprint.blueprints.model import Monitoring
from mlops_blueprint.modules.baseline.gcp import GcpBaseline
from mlops_blueprint.modules.serving.gcp import GcpServing
from mlops_blueprint.modules.training.gcp import GcpTraining
from mlops_blueprint.stacks.gcp.names import GcpNames

TEMPLATES = Path(__file__).parent / "templates"
VERTEX = 'resource.type = "aiplatform.googleapis.com/Endpoint" AND resource.labels.endpoint_id = "{id}"'
METRIC = 'metric.type = "aiplatform.googleapis.com/prediction/online/{m}"'
# Training pods carry the `mlops.io/pool` label (the pool's node selector), so the pool is a pod label.
POOL = (
    'resource.type = "k8s_container" AND resource.labels.cluster_name = "{cluster}" '
    'AND metadata.user_labels."mlops.io/pool" = "{pool}"'
)
# GKE system metrics of containers that request an accelerator (GPU or TPU): duty_cycle (%), memory_used.
ACCEL = 'metric.type = "kubernetes.io/container/accelerator/{m}"'


@dataclass(frozen=True)
class MonitoringProps:
    """spec: thresholds (omitted: p99 500 ms, 1 % errors, accelerators 95 %); channels come from the baseline."""

    naming: GcpNames
    spec: Monitoring
    baseline: GcpBaseline
    serving: GcpServing | None
    training: GcpTraining | None
    serving_capacity: dict[str, int]  # endpoint -> invocations/minute at max replicas


def _filter(*parts: str) -> str:
    return " AND ".join(parts)


def render_dashboard(title: str, endpoints: dict[str, str], cluster: str | None, pools: list[str]) -> str:
    """The dashboard JSON for `endpoints` (name -> endpoint id) and `pools`; canonical, validated JSON."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    eps = [
        {
            "charts": [
                {
                    "title": f"{name}: predictions/s",
                    "filter": _filter(VERTEX.format(id=eid), METRIC.format(m="prediction_count")),
                    "aligner": "ALIGN_RATE",
                },
                {
                    "title": f"{name}: p99 latency (ms)",
                    "filter": _filter(VERTEX.format(id=eid), METRIC.format(m="prediction_latencies")),
                    "aligner": "ALIGN_PERCENTILE_99",
                },
                {
                    "title": f"{name}: errors/s",
                    "filter": _filter(VERTEX.format(id=eid), METRIC.format(m="error_count")),
                    "aligner": "ALIGN_RATE",
                },
                {
                    "title": f"{name}: replicas",
                    "filter": _filter(VERTEX.format(id=eid), METRIC.format(m="replicas")),
                    "aligner": "ALIGN_MAX",
                },
            ]
        }
        for name, eid in endpoints.items()
    ]
    pls = [
        {
            "charts": [
                {
                    "title": f"pool {pool}: accelerator duty cycle %",
                    "filter": _filter(POOL.format(cluster=cluster, pool=pool), ACCEL.format(m="duty_cycle")),
                    "aligner": "ALIGN_MEAN",
                },
                {
                    "title": f"pool {pool}: accelerator memory used",
                    "filter": _filter(POOL.format(cluster=cluster, pool=pool), ACCEL.format(m="memory_used")),
                    "aligner": "ALIGN_MEAN",
                },
            ]
        }
        for pool in pools
    ]
    text = env.get_template("gcp_dashboard.json.j2").render(title=title, endpoints=eps, pools=pls)
    return json.dumps(json.loads(text), sort_keys=True)


class GcpMonitoring(Construct):
    def __init__(self, scope: Construct, id: str, *, props: MonitoringProps):
        super().__init__(scope, id)
        n, spec, b = props.naming, props.spec, props.baseline
        self.channels = [c.id for c in b.channels]
        self.policies: dict[str, MonitoringAlertPolicy] = {}
        endpoints: dict[str, str] = {}
        if props.serving:
            for name, ep in props.serving.endpoints.items():
                endpoints[name] = ep.name
                res = VERTEX.format(id=ep.name)
                self._policy(
                    f"{name}-latency",
                    n.name(name, "latency-p99"),
                    f"p99 prediction latency of {name} above {spec.alerts.latency_p99_ms} ms",
                    _filter(res, METRIC.format(m="prediction_latencies")),
                    spec.alerts.latency_p99_ms,
                    Aggregation(alignment_period="300s", per_series_aligner="ALIGN_PERCENTILE_99"),
                )
                self._policy(
                    f"{name}-errors",
                    n.name(name, "error-rate"),
                    f"error share of {name} above {spec.alerts.error_rate:.2%}",
                    _filter(res, METRIC.format(m="error_count")),
                    spec.alerts.error_rate,
                    Aggregation(
                        alignment_period="300s", per_series_aligner="ALIGN_RATE", cross_series_reducer="REDUCE_SUM"
                    ),
                    denominator=_filter(res, METRIC.format(m="prediction_count")),
                )
                self._policy(
                    f"{name}-invocations",
                    n.name(name, "at-capacity"),
                    f"{name} receives more predictions than its max replicas are sized for",
                    _filter(res, METRIC.format(m="prediction_count")),
                    props.serving_capacity[name] / 60,
                    Aggregation(
                        alignment_period="60s", per_series_aligner="ALIGN_RATE", cross_series_reducer="REDUCE_SUM"
                    ),
                )
        cluster = props.training.cluster_name if props.training else None
        pools = list(props.training.node_pools) if props.training else []
        for pool in pools:
            self._policy(
                f"{pool}-gpu",
                n.name(pool, "gpu-saturated"),
                f"accelerator duty cycle of pool {pool} above {spec.alerts.gpu_utilization_pct} % for 30 min",
                _filter(POOL.format(cluster=cluster, pool=pool), ACCEL.format(m="duty_cycle")),
                spec.alerts.gpu_utilization_pct,
                Aggregation(alignment_period="300s", per_series_aligner="ALIGN_MEAN"),
                duration="1800s",
            )
        self.dashboard = MonitoringDashboard(
            self, "dashboard", dashboard_json=render_dashboard(f"{n.prefix} platform", endpoints, cluster, pools)
        )

    def _policy(
        self,
        id: str,
        name: str,
        description: str,
        filter: str,
        threshold: float,
        aggregation: Aggregation,
        *,
        denominator: str | None = None,
        duration: str = "900s",
    ) -> None:
        threshold_spec = {
            "filter": filter,
            "comparison": "COMPARISON_GT",
            "threshold_value": threshold,
            "duration": duration,
            "aggregations": [aggregation],
            "trigger": {"count": 1},
        }
        if denominator:
            threshold_spec |= {
                "denominator_filter": denominator,
                "denominator_aggregations": [
                    DenominatorAggregation(
                        alignment_period=aggregation.alignment_period,
                        per_series_aligner="ALIGN_RATE",
                        cross_series_reducer="REDUCE_SUM",
                    )
                ],
            }
        self.policies[id] = MonitoringAlertPolicy(
            self,
            id,
            display_name=name,
            combiner="OR",
            enabled=True,
            severity="ERROR",
            notification_channels=self.channels,
            documentation={"content": description, "mime_type": "text/markdown"},
            alert_strategy={"auto_close": "86400s"},
            conditions=[Condition(display_name=description, condition_threshold=threshold_spec)],
        )
