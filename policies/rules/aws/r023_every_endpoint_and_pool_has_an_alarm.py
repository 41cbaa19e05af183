"""MLOPS_AWS_023: Every endpoint and GPU pool has an alarm.

GPU pools are Auto Mode NodePools in the cluster stack; Container Insights publishes GPU metrics per
cluster (`node_gpu_utilization` by ClusterName), so the cloud stack's EKS cluster must carry a GPU
alarm. A managed node group (an older layout) must carry one by its NodeGroup dimension."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_AWS_023",
    name="Every endpoint and GPU pool has an alarm",
    severity="medium",
    category="monitoring",
    applies_to=("aws_sagemaker_endpoint", "aws_eks_cluster", "aws_eks_node_group"),
)
def check(d: Doc):
    def dims(a):
        out = dict(a.get("dimensions") or {})
        for q in as_list(a.get("metric_query")):
            out.update((q.get("metric") or {}).get("dimensions") or {})
        return out

    alarms = [dims(b) for _, b in d.of("aws_cloudwatch_metric_alarm")]
    for addr, b in d.of("aws_sagemaker_endpoint"):
        ok = any(a.get("EndpointName") == b.get("name") for a in alarms)
        yield addr, ok, "" if ok else "no alarm on this endpoint"
    for addr, b in d.of("aws_eks_cluster"):
        ok = any(a.get("ClusterName") == b.get("name") for a in alarms)
        yield addr, ok, "" if ok else "no GPU alarm on this training cluster"
    for addr, b in d.of("aws_eks_node_group"):
        ok = any(a.get("NodeGroup") == b.get("node_group_name") for a in alarms)
        yield addr, ok, "" if ok else "no alarm on this pool"
