"""GPU training pools on AWS: a private EKS cluster in Auto Mode; the GPU pools themselves are
Karpenter NodePools in the cluster stack (`modules/cluster/aws.py`).

Why Auto Mode (and not self-managed Karpenter, nor managed node groups + cluster-autoscaler):
- Scale from zero works by construction: Auto Mode runs Karpenter for us, which provisions a node for a
  pending pod from the NodePool's requirements; there is no node-group template to keep in tags.
- GPU nodes need nothing installed: Auto Mode's managed node image (Bottlerocket-based) carries the
  NVIDIA driver and device plugin, so `nvidia.com/gpu` is advertised as soon as the node joins; AWS
  patches and rotates the image (nodes expire after at most 21 days).
- The system capacity (CoreDNS, the controllers) is Auto Mode's built-in `system` NodePool and the rest
  `general-purpose`: no node group to size. Storage (EBS CSI), load balancing and pod networking are
  managed components, not add-ons to upgrade.
- Self-managed Karpenter would need its controller, an interruption queue (SQS + EventBridge rules),
  a controller role with Pod Identity, an access entry for the node role and a node group for itself:
  more moving parts for the same NodePool API (`karpenter.sh/v1`), which is what our pools are written in.
What it costs: an Auto Mode fee per managed instance-hour on top of EC2. A pool's `disk_gb` is its
nodes' ephemeral storage through an Auto Mode NodeClass per disk size in the cluster stack (the built-in
`default` NodeClass gives 80 GiB); those NodeClasses use this cluster's node role, subnets and cluster
security group, so the node role needs no access entry beyond the one EKS makes for it with the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_aws.ecr_pull_through_cache_rule import EcrPullThroughCacheRule
from cdktn_provider_aws.eks_access_entry import EksAccessEntry
from cdktn_provider_aws.eks_access_policy_association import EksAccessPolicyAssociation
from cdktn_provider_aws.eks_cluster import EksCluster
from cdktn_provider_aws.eks_pod_identity_association import EksPodIdentityAssociation
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktn_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from mlops_blueprint.blueprints.model import Training
from mlops_blueprint.modules.aws_common import attach, document, pod_identity_role, protect, service_role
from mlops_blueprint.modules.baseline.aws import AwsBaseline
from mlops_blueprint.modules.cluster import TRAINER
from mlops_blueprint.modules.cluster.aws import NODE_VOLUME_KEY
from mlops_blueprint.modules.k8s_common import K8S_REGISTRY
from mlops_blueprint.stacks.aws.catalog import CATALOG
from mlops_blueprint.stacks.aws.names import AwsNames

TRAINING_NAMESPACE = "mlops-training"
# Auto Mode's built-in NodePools: `system` (tainted CriticalAddonsOnly: CoreDNS, controllers) and
# `general-purpose` (everything else that is not a GPU job).
SYSTEM_NODE_POOLS = ["general-purpose", "system"]
CLUSTER_POLICIES = (
    "AmazonEKSClusterPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingPolicy",
)
NODE_POLICIES = ("AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryPullOnly")
# What a persona that may submit training jobs gets inside the cluster: the EKS access policy that
# matches Kubernetes' `edit` ClusterRole, in the training namespace only.
EDIT_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
# The session tag EKS puts on the cluster role's sessions (hence sts:TagSession in its trust). `$${` is
# Terraform's escape for a literal `${`: IAM receives the policy variable, not a Terraform interpolation.
CLUSTER_NAME_TAG = "eks:eks-cluster-name"
PRINCIPAL_CLUSTER_NAME = "$${aws:PrincipalTag/eks:eks-cluster-name}"


def custom_tag_statements() -> list[dict]:
    """What the cluster role needs so that Auto Mode can launch nodes carrying a NodeClass's `tags`
    (https://docs.aws.amazon.com/eks/latest/userguide/auto-cluster-iam-role.html#tag-prop). The managed
    AmazonEKSComputePolicy and AmazonEKSNetworkingPolicy allow these create calls only while every tag key
    is one of Auto Mode's own (`ForAllValues` on aws:TagKeys); tag-on-create itself (ec2:CreateTags with
    ec2:CreateAction) they already allow. These are AWS's documented `Compute` and `Networking`
    statements, unchanged: the same calls, with any tag keys, still only for requests tagged with this
    cluster's name (the session's own tag) and, for instances and launch templates, a NodeClass and
    NodePool name, for ENIs the CNI's node name. AWS's `Storage` (CreateVolume/CreateSnapshot: volumes of
    PersistentVolumeClaims, tagged by a StorageClass), `LoadBalancer` and `Shield` statements are left out:
    the platform tags no StorageClass, Ingress or Service; a node's own volumes come with RunInstances /
    CreateFleet, under `Compute`."""
    cluster = {"StringEquals": {f"aws:RequestTag/{CLUSTER_NAME_TAG}": PRINCIPAL_CLUSTER_NAME}}
    return [
        {
            "Sid": "Compute",
            "Effect": "Allow",
            "Action": ["ec2:CreateFleet", "ec2:RunInstances", "ec2:CreateLaunchTemplate"],
            "Resource": "*",
            "Condition": {
                **cluster,
                "StringLike": {
                    "aws:RequestTag/eks:kubernetes-node-class-name": "*",
                    "aws:RequestTag/eks:kubernetes-node-pool-name": "*",
                },
            },
        },
        {
            "Sid": "Networking",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface"],
            "Resource": "*",
            "Condition": {**cluster, "StringLike": {"aws:RequestTag/eks:kubernetes-cni-node-name": "*"}},
        },
    ]


@dataclass(frozen=True)
class TrainingProps:
    """spec: pools in neutral terms (omitted min_nodes: 0, spot: off). protect: prevent_destroy on the
    cluster (omitted: protected), as on every cloud."""

    naming: AwsNames
    spec: Training
    baseline: AwsBaseline
    protect: bool = True
    # Who reaches the private API server on 443 besides the nodes: the platform network and the
    # blueprint's operator networks (`baseline.network`).
    api_cidrs: tuple[str, ...] = ()


def instance_for(name: str, accelerator: str, gpus: int) -> str:
    """The EC2 instance type for `gpus` x `accelerator` per node, or ValueError naming the pool."""
    instance = CATALOG.training_instance(accelerator, gpus)
    if instance is None:  # the validator refuses this first; a construct must not trust its caller
        raise ValueError(f"pool {name!r}: {accelerator} x{gpus} has no AWS instance type")
    return instance


class AwsTraining(Construct):
    """The control plane and its Auto Mode compute; per pool the cluster stack adds the NodePool.

    - Cluster: private endpoint only, secrets encrypted with the `ml` key, api/audit/authenticator logs,
      authentication mode API (access entries only: no aws-auth ConfigMap). The principal that creates
      the cluster (the deploy role) keeps cluster admin: it applies the cluster stack next.
    - Auto Mode: compute (built-in `system` + `general-purpose` NodePools on the node role), block
      storage and load balancing managed; no self-managed add-ons bootstrapped. EKS gives the node role
      its EC2 access entry (AmazonEKSAutoNodePolicy) itself; the pools' NodeClasses reuse that role.
    - `pools`: pool -> the NodePool name the cluster stack creates (the pool's key).
    """

    def __init__(self, scope: Construct, id: str, *, props: TrainingProps):
        super().__init__(scope, id)
        n, b = props.naming, props.baseline
        self.cluster_name = n.cluster
        self.namespace = TRAINING_NAMESPACE
        # Auto Mode's control plane tags the instances it launches: the trust needs sts:TagSession.
        self.cluster_role = IamRole(
            self,
            "cluster-role",
            name=n.iam_role("eks-cluster"),
            assume_role_policy=document(
                {
                    "Effect": "Allow",
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Principal": {"Service": "eks.amazonaws.com"},
                }
            ),
        )
        attachments = [
            IamRolePolicyAttachment(
                self,
                f"cluster-role-{p}",
                role=self.cluster_role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{p}",
            )
            for p in CLUSTER_POLICIES
        ]
        # The GPU pools' NodeClasses (cluster stack) tag their nodes with the environment's tags and encrypt
        # their volumes with the `ml` key: the documented custom-tag statements, and the key policy's grant.
        self.custom_tags_policy = attach(self, "cluster-role-custom-tags", self.cluster_role, *custom_tag_statements())
        b.grant_ebs_encryption(NODE_VOLUME_KEY, self.cluster_role, sid="EksAutoModeNodeVolumes")
        self.node_role = service_role(
            self,
            "node-role",
            name=n.iam_role("eks-nodes"),
            service="ec2.amazonaws.com",
            managed=[f"arn:aws:iam::aws:policy/{p}" for p in NODE_POLICIES],
        )
        # The nodes have no internet: registry.k8s.io images (Kueue's) come through an ECR pull-through
        # cache. ECR fetches from upstream, the nodes pull from ECR through the VPC endpoints; a first pull
        # imports the image and creates its repository under the prefix, as the node role
        # (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html).
        self.k8s_mirror = EcrPullThroughCacheRule(
            self, "k8s-mirror", ecr_repository_prefix=n.k8s_mirror, upstream_registry_url=K8S_REGISTRY
        )
        attach(
            self,
            "node-role-k8s-mirror",
            self.node_role,
            {
                "Effect": "Allow",
                "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                "Resource": f"arn:aws:ecr:{b.region}:{b.account_id}:repository/{n.k8s_mirror}/*",
            },
        )
        self.cluster = EksCluster(
            self,
            "cluster",
            name=self.cluster_name,
            role_arn=self.cluster_role.arn,
            version=props.spec.kubernetes_version,
            # STANDARD: at the end of standard support EKS upgrades the control plane (the API's default,
            # EXTENDED, would keep it and bill $0.60 instead of $0.10 per cluster-hour without being asked).
            upgrade_policy={"support_type": props.spec.kubernetes_support.upper()},
            vpc_config={
                "subnet_ids": b.subnet_ids,
                "endpoint_private_access": True,
                "endpoint_public_access": False,
                "security_group_ids": [b.workload_sg.id],
            },
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            bootstrap_self_managed_addons=False,
            compute_config={"enabled": True, "node_pools": SYSTEM_NODE_POOLS, "node_role_arn": self.node_role.arn},
            storage_config={"block_storage": {"enabled": True}},
            kubernetes_network_config={"elastic_load_balancing": {"enabled": True}},
            encryption_config={"provider": {"key_arn": b.keys["ml"].arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            lifecycle=protect(props.protect),
            depends_on=attachments,
        )
        # EKS's cluster security group admits only itself: a deploy (the cluster stack) or kubectl from
        # the platform network or an operator network needs 443 opened to it.
        for cidr in props.api_cidrs:
            VpcSecurityGroupIngressRule(
                self,
                f"api-from-{cidr.replace('.', '-').replace('/', '-')}",
                security_group_id=self.cluster.vpc_config.cluster_security_group_id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description=f"Kubernetes API from {cidr}",
            )
        self.pools: dict[str, str] = {}
        self.instances: dict[str, str] = {}
        for name, pool in props.spec.pools.items():
            self.instances[name] = instance_for(name, pool.accelerator, pool.gpus_per_node)
            self.pools[name] = name
        self.access_entries: dict[str, EksAccessEntry] = {}
        # Training pods run as the `trainer` ServiceAccount of the training namespace (the cluster stack
        # makes it); EKS Pod Identity gives them this role (the lake and artifact grants are the stack's).
        self.trainer = pod_identity_role(self, "trainer-role", name=n.iam_role("trainer"))
        self.trainer_association = EksPodIdentityAssociation(
            self,
            "trainer-identity",
            cluster_name=self.cluster.name,
            namespace=TRAINING_NAMESPACE,
            service_account=TRAINER,
            role_arn=self.trainer.arn,
        )

    @property
    def node_groups(self) -> dict[str, str]:
        """The pools by name (Auto Mode has no node groups; kept for readers of the older attribute)."""
        return dict(self.pools)

    def grant_submit(self, role: IamRole, *, id: str) -> None:
        """Let a persona find the cluster, get a token for it, and edit in the training namespace only: an
        access entry (type STANDARD) with AmazonEKSEditPolicy scoped to that namespace. A persona without
        `training` in the blueprint's access block gets no entry: the API server refuses it."""
        attach(
            self,
            id,
            role,
            {
                "Effect": "Allow",
                "Action": ["eks:DescribeCluster", "eks:ListNodegroups", "eks:DescribeNodegroup"],
                "Resource": [self.cluster.arn, f"{self.cluster.arn}/*"],
            },
        )
        entry = EksAccessEntry(
            self, f"{id}-access-entry", cluster_name=self.cluster.name, principal_arn=role.arn, type="STANDARD"
        )
        self.access_entries[id] = entry
        EksAccessPolicyAssociation(
            self,
            f"{id}-access-policy",
            cluster_name=self.cluster.name,
            principal_arn=entry.principal_arn,
            policy_arn=EDIT_POLICY,
            access_scope={"type": "namespace", "namespaces": [TRAINING_NAMESPACE]},
        )
