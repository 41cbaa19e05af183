"""AWS: one Karpenter NodePool (`karpenter.sh/v1`) per blueprint pool, on an EKS Auto Mode NodeClass
(`eks.amazonaws.com/v1` NodeClass) per distinct `disk_gb` of the pools: Auto Mode's Bottlerocket-based
image with the NVIDIA driver and device plugin, chosen and patched by AWS, with the pool's disk.

Each NodePool: the pool's labels on its nodes, the taint `nvidia.com/gpu=present:NoSchedule` (only pods
that tolerate it, i.e. Kueue-admitted jobs of the pool, land there), the catalog's instance type, the
capacity type (`spot` or `on-demand`), `limits: nvidia.com/gpu = max_nodes x gpus_per_node` (Karpenter
launches no node past it), and consolidation only of empty nodes (a running job is never moved).
`min_nodes` is not a NodePool concept: Karpenter keeps no idle node (an idle pool scales to zero).

Why custom NodeClasses: the built-in NodeClass `default` gives every node 80 GiB of ephemeral storage
(images, emptyDir, container layers), which a CUDA image plus checkpoints and dataset caches outgrow, and
it cannot be changed. A NodeClass `gpu-disk-<disk_gb>gi` is what `default` is (the fields
`kubectl get nodeclass default -o yaml` shows on an Auto Mode cluster) with `ephemeralStorage.size` set
to the pool's `disk_gb` in Gi (https://docs.aws.amazon.com/eks/latest/userguide/create-node-class.html):
- `role`: the cluster's Auto Mode node role (`compute_config.node_role_arn`, by name), so no new access
  entry is needed: EKS made the EC2 access entry (AmazonEKSAutoNodePolicy) for that role when it
  created the cluster; only a NodeClass with another role needs one of its own;
- `subnetSelectorTerms`: the cluster's subnets by id; `securityGroupSelectorTerms`: the cluster security
  group EKS made (`eks-cluster-sg-*`, the one Auto Mode may add load-balancer rules to), by id;
- iops 3000, throughput 125, SNAT `Random`, network policy `DefaultAllow`, event logs `Disabled`: the
  documented defaults, written out.
Pools that share a disk size share a NodeClass; a pool whose `disk_gb` changes moves to another one and
Karpenter replaces its nodes (drift). A NodeClass is never named `default` (AWS reserves it).

Beyond `default` (the platform's secure baseline):
- `tags`: the environment's standard tags (the AWS provider's default_tags, `stacks/aws/stack.py`
  `tags_for`) on what Auto Mode launches for the NodeClass (instances, their volumes and network
  interfaces), so cost allocation and the tag-based budget see GPU node spend. Auto Mode's managed policies
  allow only its own tag keys on those requests: the cluster role carries the extra statements AWS
  documents for custom tags (modules/training/aws.py, `custom_tag_statements`;
  https://docs.aws.amazon.com/eks/latest/userguide/auto-cluster-iam-role.html#tag-prop). Keys the
  NodeClass API refuses (its CRD's rules, RESERVED_TAG_KEYS / RESERVED_TAG_PREFIXES) are a ValueError here;
- `ephemeralStorage.kmsKeyID`: the nodes' root and data volumes are encrypted with the environment's
  `ml` key (NODE_VOLUME_KEY) instead of the AWS managed EBS key; its key policy lets the cluster role
  use it and create grants for EBS (modules/baseline/aws.py `grant_ebs_encryption`;
  https://docs.aws.amazon.com/eks/latest/userguide/auto-kms.html). Changing the key replaces the nodes
  (drift), as any NodeClass change does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cdktn import Fn, IResolvable, TerraformIterator
from cdktn_provider_aws.data_aws_eks_cluster import DataAwsEksCluster
from cdktn_provider_kubernetes.manifest import Manifest
from constructs import Construct

from mlops_blueprint.blueprints.model import Training
from mlops_blueprint.modules.k8s_common import ACCELERATOR_LABEL, GPU_RESOURCE, POOL_LABEL, manifest

NODEPOOL_API = "karpenter.sh/v1"
NODE_CLASS_API = "eks.amazonaws.com/v1"
NODE_CLASS_GROUP, NODE_CLASS_KIND = NODE_CLASS_API.split("/")[0], "NodeClass"
GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
EXPIRE_AFTER = "336h"  # 14 days: nodes get the current image at least this often (Auto Mode's cap is 21 days)
CONSOLIDATE_AFTER = "10m"
# The built-in NodeClass's values besides its 80Gi disk (the CRD's defaults), written out.
EPHEMERAL_IOPS = 3000
EPHEMERAL_THROUGHPUT = 125
NETWORK_DEFAULTS = {"snatPolicy": "Random", "networkPolicy": "DefaultAllow", "networkPolicyEventLogs": "Disabled"}
# The baseline key (modules/baseline/aws.py KEY_PURPOSES) that encrypts the GPU nodes' ephemeral storage:
# the one the cluster's secrets and the ML artifacts use; the lake's `data` key stays out of node reach.
NODE_VOLUME_KEY = "ml"
# Tag keys a NodeClass may not set: the NodeClass CRD's validation rules (Karpenter's and Auto Mode's own
# keys); the `aws:` prefix, which AWS keeps for itself on every resource; and `eks:`, Auto Mode's own keys,
# which its IAM conditions read (aws:RequestTag/eks:eks-cluster-name must be the cluster's name).
RESERVED_TAG_KEYS = frozenset(
    {
        "karpenter.sh/provisioner-name",
        "karpenter.sh/nodepool",
        "karpenter.sh/nodeclaim",
        "karpenter.sh/managed-by",
        "eks.amazonaws.com/nodeclass",
    }
)
RESERVED_TAG_PREFIXES = ("kubernetes.io/cluster", "aws:", "eks:")
# The forms `ephemeralStorage.kmsKeyID` takes (https://docs.aws.amazon.com/eks/latest/userguide/auto-kms.html):
# a key id, a key ARN, an alias name or an alias ARN; or a Terraform expression, known when the stack plans.
KMS_KEY_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key/[0-9a-f-]{36}|alias/[A-Za-z0-9/_-]+)"
    r"|alias/[A-Za-z0-9/_-]+"
    r"|\$\{.+\}"
)
# EC2 tag limits (per tag); Auto Mode adds a handful of its own to the 50 a resource may carry.
TAG_KEY_MAX, TAG_VALUE_MAX, NODE_CLASS_TAGS_MAX = 128, 256, 40


@dataclass(frozen=True)
class NodeClassNetwork:
    """As whom and where a custom NodeClass's nodes run: what the built-in `default` NodeClass takes
    from the cluster. `role`: the node IAM role's name; `subnet_terms`: subnetSelectorTerms (one `id`
    term per subnet); `security_group_id`: the cluster security group."""

    role: str
    subnet_terms: IResolvable | Sequence[Mapping[str, str]]
    security_group_id: str

    @classmethod
    def of_cluster(cls, cluster: DataAwsEksCluster) -> NodeClassNetwork:
        """From the cluster the cloud stack made (read by name in the cluster stack): its Auto Mode node
        role, its subnets and the security group EKS made for it, resolved when the cluster stack plans."""
        vpc = cluster.vpc_config.get(0)
        return cls(
            role=Fn.regex("[^/]+$", cluster.compute_config.get(0).node_role_arn),  # role/<path>/<name> -> <name>
            subnet_terms=TerraformIterator.from_list(vpc.subnet_ids).for_expression_for_list("{ id = val }"),
            security_group_id=vpc.cluster_security_group_id,
        )


@dataclass(frozen=True)
class NodePoolsProps:
    """spec: the pools (each pool's `disk_gb` is its nodes' ephemeral storage). network: see
    NodeClassNetwork (the cluster stack reads it from the cluster). tags: the environment's standard tags,
    on every instance, volume and network interface Auto Mode launches for the pools. kms_key_id: the key
    (ARN, id or alias) that encrypts the nodes' ephemeral storage; there is no default, so a NodeClass
    never falls back to the AWS managed key unnoticed."""

    spec: Training
    instances: Mapping[str, str]  # pool -> EC2 instance type (from the catalog)
    labels: Mapping[str, str]
    network: NodeClassNetwork
    tags: Mapping[str, str]
    kms_key_id: str


def node_class_name(disk_gb: int) -> str:
    """The NodeClass of the pools whose nodes get `disk_gb` GiB of ephemeral storage."""
    return f"gpu-disk-{disk_gb}gi"


def check_node_class_tags(tags: Mapping[str, str]) -> None:
    """ValueError naming the first tag a NodeClass may not carry (see RESERVED_TAG_KEYS) and why."""
    if len(tags) > NODE_CLASS_TAGS_MAX:
        raise ValueError(
            f"NodeClass tags: {len(tags)} tags; at most {NODE_CLASS_TAGS_MAX} (EC2 allows 50 per resource)"
        )
    for key, value in tags.items():
        if not key or len(key) > TAG_KEY_MAX:
            raise ValueError(f"NodeClass tag key {key!r}: 1 to {TAG_KEY_MAX} characters")
        if len(value) > TAG_VALUE_MAX:
            raise ValueError(f"NodeClass tag {key!r}: value of {len(value)} characters; at most {TAG_VALUE_MAX}")
        reserved = key in RESERVED_TAG_KEYS or key.startswith(RESERVED_TAG_PREFIXES)
        if reserved:
            raise ValueError(
                f"NodeClass tag key {key!r} is reserved (Karpenter, EKS Auto Mode or AWS set it: "
                f"{', '.join(sorted(RESERVED_TAG_KEYS))} and the prefixes {', '.join(RESERVED_TAG_PREFIXES)}); "
                "rename the tag"
            )


def node_class(
    disk_gb: int,
    *,
    network: NodeClassNetwork,
    labels: Mapping[str, str],
    tags: Mapping[str, str],
    kms_key_id: str,
) -> dict[str, Any]:
    """The Auto Mode NodeClass for `disk_gb` GiB of ephemeral storage: the built-in `default`'s settings
    (`network`, the documented defaults) with that disk, encrypted with `kms_key_id`, and `tags` on what
    Auto Mode launches for it. ValueError for a tag the NodeClass API refuses or an empty key."""
    check_node_class_tags(tags)
    if not KMS_KEY_ID.fullmatch(kms_key_id):
        raise ValueError(
            f"NodeClass kms_key_id {kms_key_id!r} is no KMS key id, key ARN, alias name or alias ARN: give the key "
            "for the nodes' volumes in one of those forms"
        )
    return {
        "apiVersion": NODE_CLASS_API,
        "kind": NODE_CLASS_KIND,
        "metadata": {"name": node_class_name(disk_gb), "labels": dict(labels)},
        "spec": {
            "role": network.role,
            "subnetSelectorTerms": [dict(t) for t in network.subnet_terms]
            if isinstance(network.subnet_terms, (list, tuple))
            else network.subnet_terms,
            "securityGroupSelectorTerms": [{"id": network.security_group_id}],
            "ephemeralStorage": {
                "size": f"{disk_gb}Gi",
                "iops": EPHEMERAL_IOPS,
                "throughput": EPHEMERAL_THROUGHPUT,
                "kmsKeyID": kms_key_id,
            },
            **NETWORK_DEFAULTS,
            "tags": dict(tags),
        },
    }


def node_pool(
    name: str,
    *,
    accelerator: str,
    instance: str,
    spot: bool,
    gpus: int,
    labels: Mapping[str, str],
    node_class: str,
) -> dict[str, Any]:
    """The NodePool object of one blueprint pool, on the NodeClass named `node_class`."""
    return {
        "apiVersion": NODEPOOL_API,
        "kind": "NodePool",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "template": {
                "metadata": {"labels": {POOL_LABEL: name, ACCELERATOR_LABEL: accelerator}},
                "spec": {
                    "nodeClassRef": {"group": NODE_CLASS_GROUP, "kind": NODE_CLASS_KIND, "name": node_class},
                    "requirements": [
                        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [instance]},
                        {
                            "key": "karpenter.sh/capacity-type",
                            "operator": "In",
                            "values": ["spot" if spot else "on-demand"],
                        },
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                    ],
                    "taints": [dict(GPU_TAINT)],
                    "expireAfter": EXPIRE_AFTER,
                },
            },
            "limits": {GPU_RESOURCE: str(gpus)},
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": CONSOLIDATE_AFTER},
        },
    }


class AwsNodePools(Construct):
    """`node_classes`: disk size in GiB -> its NodeClass; `node_pools`: pool -> its NodePool, created after
    (and destroyed before) its NodeClass."""

    def __init__(self, scope: Construct, id: str, *, props: NodePoolsProps):
        super().__init__(scope, id)
        self.node_classes: dict[int, Manifest] = {
            disk: manifest(
                self,
                f"node-class-{disk}gi",
                node_class(
                    disk, network=props.network, labels=props.labels, tags=props.tags, kms_key_id=props.kms_key_id
                ),
            )
            for disk in sorted({pool.disk_gb for pool in props.spec.pools.values()})
        }
        self.node_pools = {
            name: manifest(
                self,
                f"node-pool-{name}",
                node_pool(
                    name,
                    accelerator=pool.accelerator,
                    instance=props.instances[name],
                    spot=pool.spot,
                    gpus=pool.max_nodes * pool.gpus_per_node,
                    labels=props.labels,
                    node_class=node_class_name(pool.disk_gb),
                ),
                depends_on=[self.node_classes[pool.disk_gb]],
            )
            for name, pool in props.spec.pools.items()
        }
