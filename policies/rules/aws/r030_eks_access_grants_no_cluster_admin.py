"""MLOPS_AWS_030: EKS access entries grant no admin access policy at cluster scope.

AmazonEKSClusterAdminPolicy is Kubernetes' cluster-admin, and AmazonEKSAdminPolicy at cluster scope is
`admin` in every namespace: personas get a namespaced policy (e.g. AmazonEKSEditPolicy on their
namespace), as MLOPS_K8S_004 asks of bindings on a cluster of one's own.
"""

import re

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block

ADMIN = re.compile(r"cluster-access-policy/(AmazonEKSClusterAdminPolicy|AmazonEKSAdminPolicy)$")


@rule(
    id="MLOPS_AWS_030",
    name="EKS access entries grant no admin access policy at cluster scope",
    severity="critical",
    category="iam",
    applies_to=("aws_eks_access_policy_association",),
)
def check(d: Doc):
    for addr, b in d.of("aws_eks_access_policy_association"):
        arn = str(b.get("policy_arn", ""))
        scope = block(b, "access_scope").get("type")
        if "AmazonEKSClusterAdminPolicy" in arn:
            yield addr, False, "grants AmazonEKSClusterAdminPolicy (cluster-admin): grant a namespaced policy"
        elif ADMIN.search(arn) and scope != "namespace":
            yield addr, False, f"grants {arn.rsplit('/', 1)[-1]} at {scope} scope: scope it to the persona's namespaces"
        else:
            yield addr, True, ""
