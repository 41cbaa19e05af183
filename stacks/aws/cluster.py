"""The AWS cluster stack `<blueprint>-<env>-cluster`: what needs the Kubernetes API of the EKS cluster
the cloud stack made. Applied after the cloud stack, destroyed before it; its own state object beside
the cloud stack's. The kubernetes and helm providers find the cluster by name (`aws_eks_cluster` +
`aws_eks_cluster_auth`: a short-lived token of the deploying principal, which holds cluster admin as
the cluster's creator). The same data source gives the pools' NodeClasses the cluster's Auto Mode node
role, subnets and cluster security group (modules/cluster/aws.py); the baseline's `ml` key, read by its
alias, encrypts the nodes' ephemeral storage, and the environment's standard tags (the provider's
default_tags) go on every node Auto Mode launches."""

from __future__ import annotations

from cdktn import Fn, TerraformOutput, TerraformStack
from cdktn_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktn_provider_aws.data_aws_eks_cluster import DataAwsEksCluster
from cdktn_provider_aws.data_aws_eks_cluster_auth import DataAwsEksClusterAuth
from cdktn_provider_aws.data_aws_kms_key import DataAwsKmsKey
from cdktn_provider_helm.provider import HelmProvider
from cdktn_provider_kubernetes.provider import KubernetesProvider
from constructs import Construct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.modules.cluster import ClusterLayer, ClusterLayerProps, cluster_labels
from mlops_blueprint.modules.cluster.aws import NODE_VOLUME_KEY, AwsNodePools, NodeClassNetwork, NodePoolsProps
from mlops_blueprint.modules.training.aws import TRAINING_NAMESPACE, instance_for
from mlops_blueprint.stacks.aws.names import AwsNames
from mlops_blueprint.stacks.aws.stack import backend, provider, tags_for
from mlops_blueprint.stacks.settings import DeploySettings


class AwsClusterStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp = env.blueprint
        training = bp.components.training
        if training is None:  # stacks.build makes a cluster stack only for a blueprint with training
            raise ValueError("the cluster stack needs components.training")
        n = AwsNames(bp.metadata.name, env.name)
        provider(self, env, settings)
        backend(self, env, settings, key=f"{bp.metadata.name}/{env.name}/cluster.tfstate")
        cluster = DataAwsEksCluster(self, "cluster", name=n.cluster)
        auth = DataAwsEksClusterAuth(self, "cluster-auth", name=n.cluster)
        connection = {
            "host": cluster.endpoint,
            "cluster_ca_certificate": Fn.base64decode(cluster.certificate_authority.get(0).data),
            "token": auth.token,
        }
        KubernetesProvider(self, "kubernetes", **connection)
        HelmProvider(self, "helm", kubernetes=connection)

        md = bp.metadata
        labels = cluster_labels(md.name, env.name, md.owner, md.cost_center, md.data_classification)
        layer = ClusterLayer(
            self,
            "k8s",
            props=ClusterLayerProps(
                spec=training,
                prefix=n.prefix,
                namespace=TRAINING_NAMESPACE,
                labels=labels,
                # the cloud stack's ECR pull-through cache of registry.k8s.io (the nodes have no internet)
                k8s_registry_mirror=(
                    f"{DataAwsCallerIdentity(self, 'account').account_id}.dkr.ecr.{bp.target.region}.amazonaws.com/"
                    f"{n.k8s_mirror}"
                ),
            ),
        )
        instances = {
            name: instance_for(name, pool.accelerator, pool.gpus_per_node) for name, pool in training.pools.items()
        }
        network = NodeClassNetwork.of_cluster(cluster)  # what the built-in NodeClass `default` takes from it
        # The key the cloud stack's baseline made (its policy lets the cluster role encrypt volumes with it).
        volume_key = DataAwsKmsKey(self, "node-volume-key", key_id=n.key_alias(NODE_VOLUME_KEY))
        AwsNodePools(
            self,
            "pools",
            props=NodePoolsProps(
                spec=training,
                instances=instances,
                labels=labels,
                network=network,
                tags=tags_for(env),
                kms_key_id=volume_key.arn,
            ),
        )
        TerraformOutput(self, "cluster_queues", value=dict(layer.queues.queues))
        TerraformOutput(self, "local_queues", value={p: f"{TRAINING_NAMESPACE}/{p}" for p in training.pools})
