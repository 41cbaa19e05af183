"""Monitoring on Azure: an action group e-mailing `notify`; per endpoint alerts on p99 latency
(metric), error share (log query over the endpoint's traffic log) and capacity (metric); per training
pool a GPU saturation alert (managed Prometheus rule over DCGM); and one workbook rendered from a
template (templates/azure_workbook.json.j2).

Metric names (Azure Monitor, `Microsoft.MachineLearningServices/workspaces/onlineEndpoints`):
`RequestLatency_P99` (ms, dimension deployment) and `RequestsPerMinute` (count per minute, dimensions
deployment, statusCode, statusCodeClass, modelStatusCode). A metric alert cannot divide one series
by another, so the error share is a log alert: 5xx rows / all rows of `AmlOnlineEndpointTrafficLog`
(ResponseCode is a string there) over 15 minutes. GPU: `DCGM_FI_DEV_GPU_UTIL` from the NVIDIA DCGM
exporter (installed by the cluster stack, see modules/training/azure.py), averaged over the nodes
whose `kube_node_labels` carry the pool's `mlops.io/pool` label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
from cdktn import Fn
from cdktn_provider_azurerm.application_insights_workbook import ApplicationInsightsWorkbook
from cdktn_provider_azurerm.monitor_action_group import MonitorActionGroup, MonitorActionGroupEmailReceiver
from cdktn_provider_azurerm.monitor_alert_prometheus_rule_group import (
    MonitorAlertPrometheusRuleGroup,
)
from cdktn_provider_azurerm.monitor_alert_prometheus_rule_group import (
    MonitorAlertPrometheusRuleGroupRule as PrometheusRule,
)
from cdktn_provider_azurerm.monitor_alert_prometheus_rule_group import (
    MonitorAlertPrometheusRuleGroupRuleAction as PrometheusAction,
)
from cdktn_provider_azurerm.monitor_alert_prometheus_rule_group import (
    MonitorAlertPrometheusRuleGroupRuleAlertResolution as PrometheusResolution,
)
from cdktn_provider_azurerm.monitor_metric_alert import (
    MonitorMetricAlert,
    MonitorMetricAlertAction,
    MonitorMetricAlertCriteria,
)
from cdktn_provider_azurerm.monitor_scheduled_query_rules_alert_v2 import (
    MonitorScheduledQueryRulesAlertV2,
)
from cdktn_provider_azurerm.monitor_scheduled_query_rules_alert_v2 import (
    MonitorScheduledQueryRulesAlertV2Action as QueryAction,
)
from cdktn_provider_azurerm.monitor_scheduled_query_rules_alert_v2 import (
    MonitorScheduledQueryRulesAlertV2Criteria as QueryCriteria,
)
from cdktn_provider_azurerm.monitor_scheduled_query_rules_alert_v2 import (
    MonitorScheduledQueryRulesAlertV2CriteriaFailingPeriods as FailingPeriods,
)
from constructs import Construct

from mlops_blueprint.blueprints.model import Monitoring
from mlops_blueprint.modules.baseline.azure import AzureBaseline
from mlops_blueprint.modules.serving.azure import AzureServing, traffic_query
from mlops_blueprint.modules.training.azure import POOL_LABEL, AzureTraining
from mlops_blueprint.stacks.azure.names import AzureNames

TEMPLATES = Path(__file__).parent / "templates"
ENDPOINT_METRICS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
LATENCY_METRIC, REQUESTS_METRIC = "RequestLatency_P99", "RequestsPerMinute"
GPU_METRIC = "DCGM_FI_DEV_GPU_UTIL"
# kube-state-metrics turns the node label `mlops.io/pool` into `label_mlops_io_pool`.
POOL_SERIES_LABEL = "label_" + POOL_LABEL.replace(".", "_").replace("/", "_").replace("-", "_")


@dataclass(frozen=True)
class MonitoringProps:
    """spec: thresholds (omitted: p99 500 ms, 1 % errors, GPUs 95 %) and `notify` (required e-mails).
    serving / training: the components to watch (None: none of theirs). serving_capacity: endpoint ->
    requests per minute its max replicas are sized for (max_replicas x target_invocations_per_replica)."""

    naming: AzureNames
    spec: Monitoring
    baseline: AzureBaseline
    serving: AzureServing | None
    training: AzureTraining | None
    serving_capacity: dict[str, int]


def error_query(endpoint: str) -> str:
    """The share of 5xx responses of `endpoint` per 5 minutes, as `error_rate`."""
    return (
        f"{traffic_query(endpoint)}\n"
        "| summarize total = count(), errors = countif(toint(ResponseCode) >= 500) by bin(TimeGenerated, 5m)\n"
        "| extend error_rate = todouble(errors) / todouble(total)"
    )


def gpu_expression(pool: str) -> str:
    """Mean GPU utilization (%) over the GPUs of the nodes carrying pool label `pool`."""
    return f'avg({GPU_METRIC} * on(node) group_left() max by (node) (kube_node_labels{{{POOL_SERIES_LABEL}="{pool}"}}))'


def nodes_query(cluster: str, pool: str) -> str:
    return (
        f'KubeNodeInventory | where ClusterName == "{cluster}"\n'
        f'| extend pool = tostring(parse_json(Labels)[0]["{POOL_LABEL}"]) | where pool == "{pool}"\n'
        "| summarize nodes = dcount(Computer) by bin(TimeGenerated, 5m)"
    )


def render_workbook(
    title: str,
    endpoints: dict[str, tuple[str, str]],
    cluster: str | None,
    pools: list[str],
    log_analytics: str,
    prometheus: str | None,
) -> str:
    """The workbook JSON for `endpoints` (name -> (physical name, resource id)) and `pools`; canonical JSON."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    eps = [
        {
            "name": physical,
            "resource_id": rid,
            "error_query": error_query(physical),
            "metrics": [
                {
                    "id": f"{physical}-latency",
                    "title": f"{physical}: p99 latency (ms)",
                    "metric": LATENCY_METRIC,
                    "split": None,
                },
                {
                    "id": f"{physical}-requests",
                    "title": f"{physical}: requests per minute by status class",
                    "metric": REQUESTS_METRIC,
                    "split": [{"dimension": "statusCodeClass", "sort": 2, "limit": 10}],
                },
            ],
        }
        for physical, rid in endpoints.values()
    ]
    pls = [
        {
            "name": pool,
            "gpu_query": f"avg by (node) ({GPU_METRIC} * on(node) group_left() max by (node) "
            f'(kube_node_labels{{{POOL_SERIES_LABEL}="{pool}"}}))',
            "nodes_query": nodes_query(cluster or "", pool),
        }
        for pool in pools
    ]
    text = env.get_template("azure_workbook.json.j2").render(
        title=title,
        subtitle="Online endpoints and training pools",
        endpoints=eps,
        pools=pls,
        endpoint_type=ENDPOINT_METRICS.lower(),
        log_analytics=log_analytics,
        prometheus=prometheus or "",
    )
    return json.dumps(json.loads(text), sort_keys=True)


class AzureMonitoring(Construct):
    """- `action_group`: e-mails every `notify` address (common alert schema).
    - per endpoint (`alerts["<endpoint>-latency" | "-errors" | "-capacity"]`): p99 latency above
      latency_p99_ms (average of RequestLatency_P99 over 15 min), error share above error_rate (log
      alert, 15 min), requests per minute above `serving_capacity` (15 min).
    - per pool (`gpu_rules`): one rule in the cluster's Prometheus rule group, mean GPU utilization
      above gpu_utilization_pct for 30 minutes.
    - `workbook`: one workbook named by `naming.workbook_id()` (a UUID)."""

    def __init__(self, scope: Construct, id: str, *, props: MonitoringProps):
        super().__init__(scope, id)
        n, spec, b = props.naming, props.spec, props.baseline
        rg, location, alerts = b.resource_group.name, b.location, spec.alerts
        self.action_group = MonitorActionGroup(
            self,
            "action-group",
            name=n.action_group,
            resource_group_name=rg,
            short_name=n.action_group_short,
            location="global",
            enabled=True,
            email_receiver=[
                MonitorActionGroupEmailReceiver(name=f"notify-{i}", email_address=email, use_common_alert_schema=True)
                for i, email in enumerate(spec.notify)
            ],
        )
        self.alerts: dict[str, MonitorMetricAlert | MonitorScheduledQueryRulesAlertV2] = {}
        endpoints: dict[str, tuple[str, str]] = {}
        if props.serving:
            for name, endpoint in props.serving.endpoints.items():
                physical = props.serving.names[name]
                endpoints[name] = (physical, endpoint.id)
                self.alerts[f"{name}-latency"] = self._metric_alert(
                    f"{name}-latency",
                    n.name(name, "latency-p99"),
                    endpoint.id,
                    LATENCY_METRIC,
                    alerts.latency_p99_ms,
                    f"p99 latency of {physical} above {alerts.latency_p99_ms} ms",
                    severity=2,
                )
                self.alerts[f"{name}-capacity"] = self._metric_alert(
                    f"{name}-capacity",
                    n.name(name, "at-capacity"),
                    endpoint.id,
                    REQUESTS_METRIC,
                    props.serving_capacity[name],
                    f"{physical} receives more requests per minute than its max replicas are sized for",
                    severity=3,
                )
                self.alerts[f"{name}-errors"] = MonitorScheduledQueryRulesAlertV2(
                    self,
                    f"{name}-errors",
                    name=n.name(name, "error-rate"),
                    resource_group_name=rg,
                    location=location,
                    description=f"share of 5xx responses of {physical} above {alerts.error_rate:.2%}",
                    scopes=[b.log_analytics.id],
                    severity=2,
                    evaluation_frequency="PT5M",
                    window_duration="PT15M",
                    auto_mitigation_enabled=True,
                    enabled=True,
                    criteria=[
                        QueryCriteria(
                            query=error_query(physical),
                            metric_measure_column="error_rate",
                            time_aggregation_method="Maximum",
                            operator="GreaterThan",
                            threshold=alerts.error_rate,
                            failing_periods=FailingPeriods(
                                minimum_failing_periods_to_trigger_alert=1, number_of_evaluation_periods=1
                            ),
                        )
                    ],
                    action=QueryAction(action_groups=[self.action_group.id]),
                )
        self.gpu_rules: MonitorAlertPrometheusRuleGroup | None = None
        training = props.training
        pools = list(training.node_pools) if training else []
        if training and pools:
            self.gpu_rules = MonitorAlertPrometheusRuleGroup(
                self,
                "gpu-rules",
                name=n.name("gpu-saturation"),
                resource_group_name=rg,
                location=location,
                scopes=[training.prometheus.id],
                cluster_name=training.cluster.name,
                interval="PT1M",
                rule_group_enabled=True,
                description="GPU saturation per training pool (DCGM via managed Prometheus)",
                rule=[
                    PrometheusRule(
                        alert=f"{pool}-gpu-saturated",
                        expression=f"{gpu_expression(pool)} > {alerts.gpu_utilization_pct}",
                        for_="PT30M",
                        severity=3,
                        enabled=True,
                        labels={"pool": pool},
                        annotations={
                            "description": f"GPU utilization of pool {pool} above "
                            f"{alerts.gpu_utilization_pct} % for 30 minutes"
                        },
                        alert_resolution=PrometheusResolution(auto_resolved=True, time_to_resolve="PT10M"),
                        action=[PrometheusAction(action_group_id=self.action_group.id)],
                    )
                    for pool in pools
                ],
            )
        self.workbook = ApplicationInsightsWorkbook(
            self,
            "workbook",
            name=n.workbook_id(),
            display_name=f"{n.prefix} platform",
            location=location,
            resource_group_name=rg,
            category="workbook",
            source_id=Fn.lower(b.log_analytics.id),
            data_json=render_workbook(
                f"{n.prefix} platform",
                endpoints,
                training.cluster.name if training else None,
                pools,
                b.log_analytics.id,
                training.prometheus.id if training else None,
            ),
        )

    def _metric_alert(
        self, id: str, name: str, resource_id: str, metric: str, threshold: float, description: str, *, severity: int
    ) -> MonitorMetricAlert:
        return MonitorMetricAlert(
            self,
            id,
            name=name,
            resource_group_name=self.action_group.resource_group_name,
            scopes=[resource_id],
            description=description,
            severity=severity,
            frequency="PT5M",
            window_size="PT15M",
            auto_mitigate=True,
            enabled=True,
            criteria=[
                MonitorMetricAlertCriteria(
                    metric_namespace=ENDPOINT_METRICS,
                    metric_name=metric,
                    aggregation="Average",
                    operator="GreaterThan",
                    threshold=threshold,
                )
            ],
            action=[MonitorMetricAlertAction(action_group_id=self.action_group.id)],
        )
