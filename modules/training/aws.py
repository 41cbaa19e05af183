"""GPU training pools on AWS: a private EKS cluster with one managed GPU node group per pool."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle
from cdktn_provider_aws.eks_cluster import EksCluster
from cdktn_provider_aws.eks_node_group import EksNodeGroup, EksNodeGroupTaint
from cdktn_provider_aws.iam_role import IamRole
from constructs import Construct

from mlops_blueprint.blueprints.model import Training
from mlops_blueprint.modules.aws_common import attach, protect, service_role
from mlops_blueprint.modules.baseline.aws import AwsBaseline
from mlops_blueprint.stacks.aws.catalog import CATALOG
from mlops_blueprint.stacks.aws.names import AwsNames

GPU_TAINT = ("nvidia.com/gpu", "present", "NO_SCHEDULE")
AMI_TYPE = "AL2_x86_64_GPU"


@dataclass(frozen=True)
class TrainingProps:
    """spec: pools in neutral terms (omitted min_nodes: 0, spot: off, disk: 200 GB).
    protect: prevent_destroy on the cluster (omitted: protected), as on every cloud."""

    naming: AwsNames
    spec: Training
    baseline: AwsBaseline
    protect: bool = True


def autoscaler_tags(cluster: str, pool: str, accelerator: str, gpus: int) -> dict[str, str]:
    """Tags cluster-autoscaler reads to scale a node group up from zero (it sees no node to copy)."""
    t = "k8s.io/cluster-autoscaler"
    return {
        f"{t}/enabled": "true",
        f"{t}/{cluster}": "owned",
        f"{t}/node-template/label/mlops.io/pool": pool,
        f"{t}/node-template/label/mlops.io/accelerator": accelerator,
        f"{t}/node-template/taint/nvidia.com/gpu": "present:NoSchedule",
        f"{t}/node-template/resources/nvidia.com/gpu": str(gpus),
    }


class AwsTraining(Construct):
    def __init__(self, scope: Construct, id: str, *, props: TrainingProps):
        super().__init__(scope, id)
        n, b = props.naming, props.baseline
        self.cluster_name = n.cluster
        cluster_role = service_role(
            self,
            "cluster-role",
            name=n.iam_role("eks-cluster"),
            service="eks.amazonaws.com",
            managed=["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
        )
        self.node_role = service_role(
            self,
            "node-role",
            name=n.iam_role("eks-nodes"),
            service="ec2.amazonaws.com",
            managed=[
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
                "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
            ],
        )
        self.cluster = EksCluster(
            self,
            "cluster",
            name=self.cluster_name,
            role_arn=cluster_role.arn,
            version=props.spec.kubernetes_version,
            vpc_config={
                "subnet_ids": b.subnet_ids,
                "endpoint_private_access": True,
                "endpoint_public_access": False,
                "security_group_ids": [b.workload_sg.id],
            },
            encryption_config={"provider": {"key_arn": b.keys["ml"].arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            lifecycle=protect(props.protect),
        )
        self.node_groups: dict[str, EksNodeGroup] = {}
        for name, pool in props.spec.pools.items():
            instance = CATALOG.training_instance(pool.accelerator, pool.gpus_per_node)
            if instance is None:  # the validator refuses this first; a construct must not trust its caller
                raise ValueError(f"pool {name!r}: {pool.accelerator} x{pool.gpus_per_node} has no AWS instance type")
            labels = {"mlops.io/pool": name, "mlops.io/accelerator": pool.accelerator}
            self.node_groups[name] = EksNodeGroup(
                self,
                f"pool-{name}",
                cluster_name=self.cluster.name,
                node_group_name=n.node_group(name),
                node_role_arn=self.node_role.arn,
                subnet_ids=b.subnet_ids,
                ami_type=AMI_TYPE,
                instance_types=[instance],
                capacity_type="SPOT" if pool.spot else "ON_DEMAND",
                disk_size=pool.disk_gb,
                scaling_config={"min_size": pool.min_nodes, "max_size": pool.max_nodes, "desired_size": pool.min_nodes},
                labels=labels,
                taint=[EksNodeGroupTaint(key=GPU_TAINT[0], value=GPU_TAINT[1], effect=GPU_TAINT[2])],
                tags=autoscaler_tags(self.cluster_name, name, pool.accelerator, pool.gpus_per_node),
                lifecycle=TerraformResourceLifecycle(ignore_changes=["scaling_config[0].desired_size"]),
            )

    def grant_submit(self, role: IamRole, *, id: str) -> None:
        """Let a persona find the cluster and get credentials for it (RBAC inside grants the rest)."""
        attach(
            self,
            id,
            role,
            {
                "Effect": "Allow",
                "Action": ["eks:DescribeCluster", "eks:ListNodegroups", "eks:DescribeNodegroup"],
                "Resource": [
                    self.cluster.arn,
                    f"{self.cluster.arn}/*",
                    f"arn:aws:eks:*:*:nodegroup/{self.cluster_name}/*",
                ],
            },
        )
