"""AWS: one Karpenter NodePool (`karpenter.sh/v1`) per blueprint pool, on EKS Auto Mode's managed
NodeClass (`eks.amazonaws.com/NodeClass` `default`: Auto Mode's Bottlerocket-based image with the
NVIDIA driver and device plugin, chosen and patched by AWS).

Each NodePool: the pool's labels on its nodes, the taint `nvidia.com/gpu=present:NoSchedule` (only pods
that tolerate it, i.e. Kueue-admitted jobs of the pool, land there), the catalog's instance type, the
capacity type (`spot` or `on-demand`), `limits: nvidia.com/gpu = max_nodes x gpus_per_node` (Karpenter
launches no node past it), and consolidation only of empty nodes (a running job is never moved).
`min_nodes` is not a NodePool concept: Karpenter keeps no idle node (an idle pool scales to zero).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from constructs import Construct

from mlops_blueprint.blueprints.model import Training
from mlops_blueprint.modules.k8s_common import ACCELERATOR_LABEL, GPU_RESOURCE, POOL_LABEL, manifest

NODEPOOL_API = "karpenter.sh/v1"
NODE_CLASS = {"group": "eks.amazonaws.com", "kind": "NodeClass", "name": "default"}
GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
EXPIRE_AFTER = "336h"  # 14 days: nodes get the current image at least this often (Auto Mode's cap is 21 days)
CONSOLIDATE_AFTER = "10m"


@dataclass(frozen=True)
class NodePoolsProps:
    spec: Training
    instances: Mapping[str, str]  # pool -> EC2 instance type (from the catalog)
    labels: Mapping[str, str]


def node_pool(
    name: str, *, accelerator: str, instance: str, spot: bool, gpus: int, labels: Mapping[str, str]
) -> dict[str, Any]:
    """The NodePool object of one blueprint pool."""
    return {
        "apiVersion": NODEPOOL_API,
        "kind": "NodePool",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "template": {
                "metadata": {"labels": {POOL_LABEL: name, ACCELERATOR_LABEL: accelerator}},
                "spec": {
                    "nodeClassRef": dict(NODE_CLASS),
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
    def __init__(self, scope: Construct, id: str, *, props: NodePoolsProps):
        super().__init__(scope, id)
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
                ),
            )
            for name, pool in props.spec.pools.items()
        }
