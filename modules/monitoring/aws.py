"""Monitoring on AWS: an SNS topic for the blueprint's subscribers, alarms per endpoint and pool,
and a CloudWatch dashboard per endpoint and pool."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktn_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarmMetricQuery as Query
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from mlops_blueprint.blueprints.model import Monitoring
from mlops_blueprint.modules.baseline.aws import AwsBaseline
from mlops_blueprint.modules.serving.aws import VARIANT, AwsServing
from mlops_blueprint.modules.training.aws import AwsTraining
from mlops_blueprint.stacks.aws.names import AwsNames


@dataclass(frozen=True)
class MonitoringProps:
    """spec: thresholds (omitted: p99 500 ms, 1 % errors, GPU 95 %) and who to notify."""

    naming: AwsNames
    spec: Monitoring
    baseline: AwsBaseline
    region: str
    serving: AwsServing | None
    training: AwsTraining | None
    serving_capacity: dict[str, int]  # endpoint -> invocations/minute at max replicas


class AwsMonitoring(Construct):
    def __init__(self, scope: Construct, id: str, *, props: MonitoringProps):
        super().__init__(scope, id)
        n, spec = props.naming, props.spec
        self.topic = SnsTopic(self, "alerts", name=n.alerts_topic, kms_master_key_id=props.baseline.keys["ops"].arn)
        for i, email in enumerate(spec.notify):
            SnsTopicSubscription(self, f"notify-{i}", topic_arn=self.topic.arn, protocol="email", endpoint=email)
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        actions = [self.topic.arn]
        if props.serving:
            for name, ep_name in props.serving.names.items():
                dims = {"EndpointName": ep_name, "VariantName": VARIANT}
                self._alarm(
                    f"{name}-latency",
                    n.name(name, "latency-p99"),
                    actions,
                    description=f"p99 model latency of {ep_name} above {spec.alerts.latency_p99_ms} ms",
                    namespace="AWS/SageMaker",
                    metric_name="ModelLatency",
                    dimensions=dims,
                    extended_statistic="p99",
                    threshold=spec.alerts.latency_p99_ms * 1000,
                )  # microseconds
                self._alarm(
                    f"{name}-errors",
                    n.name(name, "error-rate"),
                    actions,
                    description=f"5xx share of {ep_name} above {spec.alerts.error_rate:.2%}",
                    threshold=spec.alerts.error_rate,
                    metric_query=[
                        Query(
                            id="rate",
                            expression="errors / MAX([invocations, 1])",
                            return_data=True,
                            label="5xx error rate",
                        ),
                        Query(
                            id="errors",
                            metric={
                                "namespace": "AWS/SageMaker",
                                "metric_name": "Invocation5XXErrors",
                                "dimensions": dims,
                                "period": 300,
                                "stat": "Sum",
                            },
                        ),
                        Query(
                            id="invocations",
                            metric={
                                "namespace": "AWS/SageMaker",
                                "metric_name": "Invocations",
                                "dimensions": dims,
                                "period": 300,
                                "stat": "Sum",
                            },
                        ),
                    ],
                )
                self._alarm(
                    f"{name}-invocations",
                    n.name(name, "at-capacity"),
                    actions,
                    description=f"{ep_name} receives more invocations than its max replicas are sized for",
                    namespace="AWS/SageMaker",
                    metric_name="Invocations",
                    dimensions=dims,
                    statistic="Sum",
                    period=60,
                    threshold=props.serving_capacity[name],
                )
                CloudwatchDashboard(
                    self,
                    f"{name}-dashboard",
                    dashboard_name=n.name(name),
                    dashboard_body=json.dumps(_endpoint_dashboard(ep_name, props.region)),
                )
        if props.training:
            cluster = props.training.cluster_name
            for pool in props.training.node_groups:
                self._alarm(
                    f"{pool}-gpu",
                    n.name(pool, "gpu-saturated"),
                    actions,
                    description=f"GPU utilisation of pool {pool} above {spec.alerts.gpu_utilization_pct} % for 30 min",
                    namespace="ContainerInsights",
                    metric_name="node_gpu_utilization",
                    statistic="Average",
                    dimensions={"ClusterName": cluster, "NodeGroup": n.name(pool)},
                    period=300,
                    evaluation_periods=6,
                    threshold=spec.alerts.gpu_utilization_pct,
                )
                CloudwatchDashboard(
                    self,
                    f"{pool}-dashboard",
                    dashboard_name=n.name("pool", pool),
                    dashboard_body=json.dumps(_pool_dashboard(cluster, n.name(pool), props.region)),
                )

    def _alarm(
        self,
        id: str,
        name: str,
        actions: list[str],
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 3,
        period: int = 300,
        **metric: object,
    ) -> None:
        if "metric_query" not in metric:
            metric.setdefault("period", period)
        self.alarms[id] = CloudwatchMetricAlarm(
            self,
            id,
            alarm_name=name,
            alarm_description=description,
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            **metric,
        )


def _endpoint_dashboard(endpoint: str, region: str) -> dict:
    dims = ["EndpointName", endpoint, "VariantName", VARIANT]
    widgets = [
        ("Invocations", [["AWS/SageMaker", "Invocations", *dims, {"stat": "Sum"}]]),
        (
            "Model latency (p50, p99)",
            [
                ["AWS/SageMaker", "ModelLatency", *dims, {"stat": "p50"}],
                ["AWS/SageMaker", "ModelLatency", *dims, {"stat": "p99"}],
            ],
        ),
        (
            "Errors",
            [
                ["AWS/SageMaker", "Invocation4XXErrors", *dims, {"stat": "Sum"}],
                ["AWS/SageMaker", "Invocation5XXErrors", *dims, {"stat": "Sum"}],
            ],
        ),
        ("Replicas", [["/aws/sagemaker/Endpoints", "CPUUtilization", *dims, {"stat": "Average"}]]),
    ]
    return _dashboard(widgets, region)


def _pool_dashboard(cluster: str, node_group: str, region: str) -> dict:
    dims = ["ClusterName", cluster, "NodeGroup", node_group]
    widgets = [
        ("GPU utilisation", [["ContainerInsights", "node_gpu_utilization", *dims, {"stat": "Average"}]]),
        ("GPU memory", [["ContainerInsights", "node_gpu_memory_utilization", *dims, {"stat": "Average"}]]),
        ("Nodes", [["ContainerInsights", "cluster_node_count", "ClusterName", cluster, {"stat": "Maximum"}]]),
    ]
    return _dashboard(widgets, region)


def _dashboard(widgets: list[tuple[str, list]], region: str) -> dict:
    return {
        "widgets": [
            {
                "type": "metric",
                "x": (i % 2) * 12,
                "y": (i // 2) * 6,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "metrics": metrics,
                    "region": region,
                    "view": "timeSeries",
                    "period": 300,
                },
            }
            for i, (title, metrics) in enumerate(widgets)
        ]
    }
