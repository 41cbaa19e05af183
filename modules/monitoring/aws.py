"""Monitoring on AWS: an SNS topic for the blueprint's subscribers, alarms per endpoint and pool,
a CloudWatch dashboard per endpoint and pool, and, with training, the CloudWatch Observability EKS
add-on that makes the GPU metrics the pool alarms read.

Where the GPU numbers come from: the `amazon-cloudwatch-observability` add-on runs the CloudWatch
agent with Container Insights' enhanced observability and, with `accelerated_compute_metrics` on, an
NVIDIA DCGM exporter on every GPU node. The agent publishes `node_gpu_utilization` (and
`node_gpu_memory_utilization`, `pod_gpu_*`, `container_gpu_*`) to the `ContainerInsights` namespace,
aggregated per cluster (`ClusterName`), per node (`ClusterName`, `InstanceId`, `NodeName`) and per GPU
device. No aggregation is per node group or NodePool, so each pool's alarm reads the cluster-level
series: with one pool (the common case) that is the pool's own utilisation; with several it is their
average, and the per-node series on the pool's dashboard tell them apart. The agent's role comes from
EKS Pod Identity (built into Auto Mode clusters) with CloudWatchAgentServerPolicy."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktn_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarmMetricQuery as Query
from cdktn_provider_aws.eks_addon import EksAddon, EksAddonPodIdentityAssociation
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from mlops_blueprint.blueprints.model import Monitoring
from mlops_blueprint.modules.aws_common import pod_identity_role
from mlops_blueprint.modules.baseline.aws import AwsBaseline
from mlops_blueprint.modules.serving.aws import VARIANT, AwsServing
from mlops_blueprint.modules.training.aws import AwsTraining
from mlops_blueprint.stacks.aws.names import AwsNames

OBSERVABILITY_ADDON = "amazon-cloudwatch-observability"
AGENT_NAMESPACE, AGENT_SERVICE_ACCOUNT = "amazon-cloudwatch", "cloudwatch-agent"
AGENT_POLICY = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
GPU_METRIC = ("ContainerInsights", "node_gpu_utilization")
# The add-on's configuration (its schema: `aws eks describe-addon-configuration --addon-name
# amazon-cloudwatch-observability`): enhanced observability, and the accelerated-compute (NVIDIA DCGM,
# Neuron) metrics the GPU alarms read, on explicitly rather than by the add-on version's default.
ADDON_CONFIGURATION = {
    "agent": {
        "config": {
            "logs": {
                "metrics_collected": {
                    "kubernetes": {"enhanced_container_insights": True, "accelerated_compute_metrics": True}
                }
            }
        }
    }
}


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
                        *(
                            Query(
                                id=qid,
                                metric={
                                    "namespace": "AWS/SageMaker",
                                    "metric_name": metric,
                                    "dimensions": dims,
                                    "period": 300,
                                    "stat": "Sum",
                                },
                            )
                            for qid, metric in (("errors", "Invocation5XXErrors"), ("invocations", "Invocations"))
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
            self.agent_role, self.observability = self._observability(props.training, n)
            for pool in props.training.node_groups:
                self._alarm(
                    f"{pool}-gpu",
                    n.name(pool, "gpu-saturated"),
                    actions,
                    description=(
                        f"GPU utilisation of pool {pool} above {spec.alerts.gpu_utilization_pct} % for 30 min "
                        f"(Container Insights node_gpu_utilization of cluster {cluster}, from the {OBSERVABILITY_ADDON} "
                        "add-on's DCGM exporter)"
                    ),
                    namespace=GPU_METRIC[0],
                    metric_name=GPU_METRIC[1],
                    statistic="Average",
                    dimensions={"ClusterName": cluster},
                    period=300,
                    evaluation_periods=6,
                    threshold=spec.alerts.gpu_utilization_pct,
                )
                CloudwatchDashboard(
                    self,
                    f"{pool}-dashboard",
                    dashboard_name=n.name("pool", pool),
                    dashboard_body=json.dumps(_pool_dashboard(cluster, props.region)),
                )

    def _observability(self, training: AwsTraining, n: AwsNames) -> tuple[IamRole, EksAddon]:
        """The CloudWatch Observability add-on with GPU metrics on, its agent's role by Pod Identity."""
        role = pod_identity_role(
            self,
            "cloudwatch-agent-role",
            name=n.iam_role("cloudwatch-agent"),
            description=f"CloudWatch agent of {n.cluster} (Container Insights, GPU metrics)",
        )
        policy = IamRolePolicyAttachment(self, "cloudwatch-agent-policy", role=role.name, policy_arn=AGENT_POLICY)
        addon = EksAddon(
            self,
            "observability",
            cluster_name=training.cluster.name,
            addon_name=OBSERVABILITY_ADDON,
            configuration_values=json.dumps(ADDON_CONFIGURATION, sort_keys=True),
            pod_identity_association=[
                EksAddonPodIdentityAssociation(role_arn=role.arn, service_account=AGENT_SERVICE_ACCOUNT)
            ],
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            depends_on=[policy],
        )
        return role, addon

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


def _pool_dashboard(cluster: str, region: str) -> dict:
    dims = ["ClusterName", cluster]
    schema = "{ContainerInsights,ClusterName,InstanceId,NodeName}"
    search = f'{schema} MetricName="node_gpu_utilization" ClusterName="{cluster}"'
    per_node = f"SEARCH('{search}', 'Average', 300)"
    widgets: list[tuple[str, list]] = [
        ("GPU utilisation", [["ContainerInsights", "node_gpu_utilization", *dims, {"stat": "Average"}]]),
        ("GPU utilisation per node", [[{"expression": per_node, "id": "nodes", "label": "node"}]]),
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
