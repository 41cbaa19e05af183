"""Small, tested additions to moto for the APIs the AWS provider calls and moto lacks.

Each shim is named in SHIMS with what it fixes. docs/proof.md's emulator section mirrors
this list, and tests/scripts/test_emulator_shims.py calls every one through boto3.
They are installed only in the emulator process (`scripts.emulator_server`), never into
the CLI or the tests' own process.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

SHIMS: dict[str, str] = {
    "iam-managed-policies": "load AWS managed policies (EKS, Glue) so roles can attach them",
    "sagemaker-delete-model-package-group": "SageMaker DeleteModelPackageGroup (destroy of a registry group); "
    "refused with a ConflictException while the group still holds versions, as AWS does",
    "sagemaker-delete-model-package": "SageMaker DeleteModelPackage (moto lacks it): `down` deletes every version "
    "before its group",
    "sagemaker-gpu-instance-types": "accept ml.g5/ml.g6/ml.p4d/ml.p5 instance types in endpoint configurations",
    "application-autoscaling-tags": "Application Auto Scaling ListTagsForResource/TagResource/UntagResource",
    "budgets-subscribers-and-tags": "Budgets DescribeSubscribersForNotification and tag operations, tags given at create",
    "budgets-update": "Budgets UpdateBudget (moto lacks it: updating a budget, e.g. one adopted after a killed run, "
    "failed with a 500)",
    "sagemaker-network-isolation": "keep a model's EnableNetworkIsolation (moto drops it: a perpetual replace)",
    "lakeformation-revoke": "match a revoke to its grant whether or not CatalogId is spelled out, and answer "
    "'No permissions revoked' once nothing is left, as AWS does (destroy looped until timeout)",
    "sagemaker-update-endpoint": "SageMaker UpdateEndpoint (moto lacks it): the endpoint takes the new configuration's "
    "variants and weights, as a finished AWS update does (used by `rollout`)",
    "eks-no-default-ssh-key": "no invented remote_access ssh key on node groups (moto adds one: a perpetual replace)",
    "eks-addons": "EKS add-ons with their configuration values and Pod Identity associations (moto lacks them): "
    "create, describe, list, delete, and the associations, the add-ons' and standalone ones (the trainer's): "
    "create, describe, list, delete",
    "cloudtrail-delete-by-arn": "DeleteTrail given the trail's ARN, as the provider sends it (moto matched names only "
    "and kept the trail: the next apply failed with TrailAlreadyExists)",
    "eks-auto-mode-and-access-config": "keep a cluster's accessConfig, computeConfig, storageConfig, "
    "upgradePolicy and kubernetesNetworkConfig.elasticLoadBalancing (EKS Auto Mode; moto drops them: a "
    "perpetual replace), and make (and delete with it) the cluster security group EKS makes",
    "ecr-pull-through-cache": "ECR pull-through cache rules (moto lacks them): create, describe, delete; "
    "nothing is pulled through them (the emulator runs no cluster)",
    "eks-access-entries": "EKS access entries and access policy associations (moto lacks them): create, describe, "
    "list, update, delete, associate, list associated, disassociate",
    "s3-bucket-policy-over-tls": "judge object requests against a bucket policy as arriving over TLS, as every "
    "client of the platform's TLS-only buckets does (the emulator speaks plain HTTP on loopback, and moto skips "
    "the Bool operator, so the `aws:SecureTransport: false` Deny refused everything): the stack's upload of the "
    "bootstrap model.tar.gz was refused with 403",
}

GPU_SERVING_FAMILIES = ("ml.g4dn.", "ml.g5.", "ml.g6.", "ml.p4d.", "ml.p5.", "ml.inf2.")

# ARN -> tags, shared by the tag shims (the emulator is one process; state resets with it)
_TAGS: dict[str, dict[str, str]] = defaultdict(dict)


def install() -> None:
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    _sagemaker()
    _application_autoscaling()
    _budgets()
    _eks()
    _eks_addons()
    _cloudtrail()
    _lakeformation()
    _ecr_pull_through_cache()
    _s3_bucket_policy_over_tls()


def _s3_bucket_policy_over_tls() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self, action: str, resource: str):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode())["Statement"]
        permitted = False
        for raw in statements if isinstance(statements, list) else [statements]:
            # moto skips the `Bool` operator, so `aws:SecureTransport: false` held for every request: a
            # statement about requests without TLS does not apply to the emulator's clients, which stand
            # in for TLS ones. Every other condition is moto's to judge.
            secure = (raw.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport")
            if secure is not None and str(secure).lower() != "true":
                continue
            result = IAMPolicyStatement(raw).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return result
            permitted = permitted or result == PermissionResult.PERMITTED
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission


# (account, region, repository prefix) -> pull-through cache rule
_PULL_THROUGH: dict[tuple[str, str, str], dict] = {}


def _ecr_pull_through_cache() -> None:
    """CreatePullThroughCacheRule / DescribePullThroughCacheRules / DeletePullThroughCacheRule, as the
    provider's `aws_ecr_pull_through_cache_rule` calls them (the rule is stored; no image is pulled)."""
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.ecr.responses import ECRResponse

    def not_found(prefix: str) -> JsonRESTError:
        return JsonRESTError(
            "PullThroughCacheRuleNotFoundException",
            f"The pull through cache rule with prefix '{prefix}' does not exist",
        )

    def key(self, prefix: str) -> tuple[str, str, str]:
        return (self.current_account, self.region, prefix)

    def create_pull_through_cache_rule(self) -> ActionResult:
        prefix = self._get_param("ecrRepositoryPrefix")
        if key(self, prefix) in _PULL_THROUGH:
            raise JsonRESTError(
                "PullThroughCacheRuleAlreadyExistsException",
                f"A pull through cache rule with the prefix '{prefix}' already exists",
            )
        rule = {
            "ecrRepositoryPrefix": prefix,
            "upstreamRegistryUrl": self._get_param("upstreamRegistryUrl"),
            "registryId": self._get_param("registryId") or self.current_account,
            "createdAt": utcnow().isoformat(),
        }
        for optional in ("credentialArn", "upstreamRegistry"):
            if self._get_param(optional):
                rule[optional] = self._get_param(optional)
        _PULL_THROUGH[key(self, prefix)] = rule
        return ActionResult(rule)

    def describe_pull_through_cache_rules(self) -> ActionResult:
        wanted = self._get_param("ecrRepositoryPrefixes") or []
        mine = {k[2]: r for k, r in _PULL_THROUGH.items() if k[:2] == (self.current_account, self.region)}
        for prefix in wanted:
            if prefix not in mine:
                raise not_found(prefix)
        return ActionResult(
            {"pullThroughCacheRules": [r for p, r in sorted(mine.items()) if not wanted or p in wanted]}
        )

    def delete_pull_through_cache_rule(self) -> ActionResult:
        prefix = self._get_param("ecrRepositoryPrefix")
        rule = _PULL_THROUGH.pop(key(self, prefix), None)
        if rule is None:
            raise not_found(prefix)
        return ActionResult(rule)

    for fn in (create_pull_through_cache_rule, describe_pull_through_cache_rules, delete_pull_through_cache_rule):
        setattr(ECRResponse, fn.__name__, fn)


def _without_catalog_id(value):
    if isinstance(value, dict):
        return {k: _without_catalog_id(v) for k, v in value.items() if k != "CatalogId"}
    return value


def _lakeformation() -> None:
    from moto.lakeformation.models import Permission

    def equal_principal_and_resource(self, other) -> bool:
        return self.principal == other.principal and _without_catalog_id(self.resource) == _without_catalog_id(
            other.resource
        )

    Permission.equal_principal_and_resouce = equal_principal_and_resource  # sic: moto's spelling

    from moto.lakeformation.exceptions import InvalidInput
    from moto.lakeformation.models import LakeFormationBackend

    revoke = LakeFormationBackend.revoke_permissions

    def revoke_permissions(
        self, catalog_id, principal, resource, permissions_to_revoke, permissions_with_grant_options_to_revoke
    ):
        wanted = Permission(principal, resource, [], [])
        held = [p for p in self.grants.get(catalog_id, _EMPTY).permissions if wanted.equal_principal_and_resouce(p)]
        asked = set(permissions_to_revoke or []) | set(permissions_with_grant_options_to_revoke or [])
        if not any(asked & (set(p.permissions) | set(p.permissions_with_grant_options)) for p in held):
            raise InvalidInput(
                "No permissions revoked. Grantee has no permissions and no grantable permissions on resource"
            )
        return revoke(
            self, catalog_id, principal, resource, permissions_to_revoke, permissions_with_grant_options_to_revoke
        )

    LakeFormationBackend.revoke_permissions = revoke_permissions


class _NoGrants:
    permissions: tuple = ()


_EMPTY = _NoGrants()


def _eks() -> None:
    from moto.eks import models as eks

    eks.DEFAULT_REMOTE_ACCESS = None
    _eks_cluster_config()
    _eks_access_entries()


def _cloudtrail() -> None:
    from moto.cloudtrail.models import CloudTrailBackend

    delete_trail = CloudTrailBackend.delete_trail

    def delete_trail_by_name_or_arn(self, name: str) -> None:
        delete_trail(self, name.rsplit(":trail/", 1)[-1] if name.startswith("arn:") else name)

    CloudTrailBackend.delete_trail = delete_trail_by_name_or_arn


# (cluster, add-on name) -> add-on; association id -> Pod Identity association
_ADDONS: dict[tuple[str, str], dict] = {}
_ASSOCIATIONS: dict[str, dict] = {}
ADDON_DEFAULT_VERSION = "v4.1.0-eksbuild.1"


def _eks_addons() -> None:
    """CreateAddon/DescribeAddon/ListAddons/DeleteAddon (ACTIVE at once, gone at once) keeping the
    configuration values and the Pod Identity associations the add-on was given, which
    DescribePodIdentityAssociation answers for (the provider reads each association back)."""
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.eks import urls
    from moto.eks.exceptions import ResourceInUseException, ResourceNotFoundException
    from moto.eks.responses import EKSResponse
    from moto.moto_api._internal import mock_random as random

    cluster_path = "{0}/clusters/(?P<name>[^/]+)"
    urls.url_paths.update(
        {
            cluster_path + "/addons$": urls.response.dispatch,
            cluster_path + "/addons/(?P<addonName>[^/]+)$": urls.response.dispatch,
            cluster_path + "/pod-identity-associations$": urls.response.dispatch,
            cluster_path + "/pod-identity-associations/(?P<associationId>[^/]+)$": urls.response.dispatch,
        }
    )

    def not_found(message: str) -> ResourceNotFoundException:
        return ResourceNotFoundException(
            clusterName=None, nodegroupName=None, fargateProfileName=None, addonName=None, message=message
        )

    def cluster_of(self) -> str:
        name = self._get_param("clusterName") or self._get_param("name")
        if name not in self.eks_backend.clusters:
            raise not_found(f"No cluster found for name: {name}.")
        return name

    def addon_of(self) -> tuple[str, str, dict]:
        cluster, name = cluster_of(self), self._get_param("addonName")
        addon = _ADDONS.get((cluster, name))
        if addon is None:
            raise not_found(f"No addon: {name} found in cluster: {cluster}")
        return cluster, name, addon

    def create_addon(self) -> ActionResult:
        cluster, name = cluster_of(self), self._get_param("addonName")
        if (cluster, name) in _ADDONS:
            raise ResourceInUseException(
                clusterName=cluster, nodegroupName=None, addonName=name, message=f"Addon already exists: {name}"
            )
        arn = self.eks_backend.clusters[cluster].arn
        region, account = arn.split(":")[3], arn.split(":")[4]
        now = utcnow().isoformat()
        associations = []
        for given in self._get_param("podIdentityAssociations") or []:
            aid = "a-" + random.get_random_string(length=17, lower_case=True)
            a_arn = f"arn:aws:eks:{region}:{account}:podidentityassociation/{cluster}/{aid}"
            _ASSOCIATIONS[aid] = {
                "clusterName": cluster,
                "namespace": "amazon-cloudwatch" if name == "amazon-cloudwatch-observability" else "kube-system",
                "serviceAccount": given["serviceAccount"],
                "roleArn": given["roleArn"],
                "associationArn": a_arn,
                "associationId": aid,
                "tags": {},
                "createdAt": now,
                "modifiedAt": now,
                "ownerArn": f"arn:aws:eks:{region}:{account}:addon/{cluster}/{name}/{aid}",
            }
            associations.append(a_arn)
        addon = {
            "addonName": name,
            "clusterName": cluster,
            "status": "ACTIVE",
            "addonVersion": self._get_param("addonVersion") or ADDON_DEFAULT_VERSION,
            "health": {"issues": []},
            "addonArn": f"arn:aws:eks:{region}:{account}:addon/{cluster}/{name}/{random.get_random_hex(8)}",
            "createdAt": now,
            "modifiedAt": now,
            "tags": self._get_param("tags") or {},
            "podIdentityAssociations": associations,
        }
        for key in ("serviceAccountRoleArn", "configurationValues"):
            if self._get_param(key):
                addon[key] = self._get_param(key)
        _ADDONS[(cluster, name)] = addon
        return ActionResult({"addon": addon})

    def describe_addon(self) -> ActionResult:
        return ActionResult({"addon": addon_of(self)[2]})

    def list_addons(self) -> ActionResult:
        cluster = cluster_of(self)
        return ActionResult({"addons": sorted(n for c, n in _ADDONS if c == cluster)})

    def delete_addon(self) -> ActionResult:
        cluster, name, addon = addon_of(self)
        for a_arn in addon["podIdentityAssociations"]:
            _ASSOCIATIONS.pop(a_arn.rsplit("/", 1)[-1], None)
        del _ADDONS[(cluster, name)]
        return ActionResult({"addon": {**addon, "status": "DELETING"}})

    def association_of(self) -> dict:
        cluster, aid = cluster_of(self), self._get_param("associationId")
        association = _ASSOCIATIONS.get(aid)
        if association is None or association["clusterName"] != cluster:
            raise not_found(f"No Pod Identity Association found for id: {aid}")
        return association

    def describe_pod_identity_association(self) -> ActionResult:
        return ActionResult({"association": association_of(self)})

    def create_pod_identity_association(self) -> ActionResult:
        """A standalone association (the trainer's): one per namespace and service account."""
        cluster = cluster_of(self)
        namespace, account_name = self._get_param("namespace"), self._get_param("serviceAccount")
        for a in _ASSOCIATIONS.values():
            if (a["clusterName"], a["namespace"], a["serviceAccount"]) == (cluster, namespace, account_name):
                raise ResourceInUseException(
                    clusterName=cluster,
                    nodegroupName=None,
                    addonName=None,
                    message="Association already exists: " + a["associationArn"],
                )
        arn = self.eks_backend.clusters[cluster].arn
        region, account = arn.split(":")[3], arn.split(":")[4]
        aid = "a-" + random.get_random_string(length=17, lower_case=True)
        now = utcnow().isoformat()
        association = {
            "clusterName": cluster,
            "namespace": namespace,
            "serviceAccount": account_name,
            "roleArn": self._get_param("roleArn"),
            "associationArn": f"arn:aws:eks:{region}:{account}:podidentityassociation/{cluster}/{aid}",
            "associationId": aid,
            "tags": self._get_param("tags") or {},
            "createdAt": now,
            "modifiedAt": now,
        }
        _ASSOCIATIONS[aid] = association
        return ActionResult({"association": association})

    def list_pod_identity_associations(self) -> ActionResult:
        cluster = cluster_of(self)
        namespace, account_name = self._get_param("namespace"), self._get_param("serviceAccount")
        found = [
            a
            for a in _ASSOCIATIONS.values()
            if a["clusterName"] == cluster
            and namespace in (None, a["namespace"])
            and account_name in (None, a["serviceAccount"])
        ]
        keys = ("clusterName", "namespace", "serviceAccount", "associationArn", "associationId", "ownerArn")
        return ActionResult({"associations": [{k: a[k] for k in keys if k in a} for a in found]})

    def delete_pod_identity_association(self) -> ActionResult:
        association = association_of(self)
        del _ASSOCIATIONS[association["associationId"]]
        return ActionResult({"association": association})

    for fn in (
        create_addon,
        describe_addon,
        list_addons,
        delete_addon,
        describe_pod_identity_association,
        create_pod_identity_association,
        list_pod_identity_associations,
        delete_pod_identity_association,
    ):
        setattr(EKSResponse, fn.__name__, fn)


def _eks_cluster_config() -> None:
    """CreateCluster keeps what Auto Mode and access entries configure; DescribeCluster returns it (the
    serializer reads the snake_case attributes), with AWS's defaults when the caller gave none."""
    from moto.eks.responses import EKSResponse
    from moto.moto_api._internal import mock_random as random

    create_cluster, delete_cluster = EKSResponse.create_cluster, EKSResponse.delete_cluster

    def create_cluster_keeping_config(self):
        result = create_cluster(self)
        cluster = self.eks_backend.clusters[self._get_param("name")]
        access = self._get_param("accessConfig") or {}
        cluster.access_config = {
            "authenticationMode": access.get("authenticationMode", "CONFIG_MAP"),
            "bootstrapClusterCreatorAdminPermissions": access.get("bootstrapClusterCreatorAdminPermissions", True),
        }
        compute = self._get_param("computeConfig")
        if compute:
            cluster.compute_config = compute
        # AWS's default for a cluster made through the API is EXTENDED.
        cluster.upgrade_policy = self._get_param("upgradePolicy") or {"supportType": "EXTENDED"}
        storage = self._get_param("storageConfig")
        if storage:
            cluster.storage_config = storage
        network = self._get_param("kubernetesNetworkConfig") or {}
        if "elasticLoadBalancing" in network:
            cluster.kubernetes_network_config = {
                **cluster.kubernetes_network_config,
                "elasticLoadBalancing": network["elasticLoadBalancing"],
            }
        # The cluster security group EKS makes (control plane ENIs and Auto Mode nodes), in the subnets' VPC.
        # (Only where the subnets exist: moto itself never checked them, and callers rely on that.)
        ec2 = _ec2(self)
        known = {sid: sub for zone in ec2.subnets.values() for sid, sub in zone.items()}
        subnets = [s for s in cluster.resources_vpc_config.get("subnetIds") or [] if s in known]
        if subnets:
            vpc_id = known[subnets[0]].vpc_id
            group = ec2.create_security_group(
                f"eks-cluster-sg-{cluster.name}-{random.get_random_hex(8)}",
                f"EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, "
                f"as well as any managed workloads. ({cluster.name})",
                vpc_id=vpc_id,
                tags={f"kubernetes.io/cluster/{cluster.name}": "owned", "aws:eks:cluster-name": cluster.name},
            )
            cluster.resources_vpc_config = {
                **cluster.resources_vpc_config,
                "clusterSecurityGroupId": group.id,
                "vpcId": vpc_id,
            }
        return result

    def delete_cluster_and_its_security_group(self):
        cluster = self.eks_backend.clusters.get(self._get_param("name"))
        group = cluster.resources_vpc_config.get("clusterSecurityGroupId") if cluster else None
        result = delete_cluster(self)
        if group:
            _ec2(self).delete_security_group(group_id=group)
        return result

    EKSResponse.create_cluster = create_cluster_keeping_config
    EKSResponse.delete_cluster = delete_cluster_and_its_security_group


def _ec2(response):
    """The EC2 backend of the account and region a response serves."""
    from moto.ec2.models import ec2_backends

    return ec2_backends[response.current_account][response.region]


# (cluster name, principal ARN) -> access entry; (cluster, principal) -> {policy ARN: association}
_ACCESS_ENTRIES: dict[tuple[str, str], dict] = {}
_ACCESS_POLICIES: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)


def _eks_access_entries() -> None:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.eks import urls
    from moto.eks.exceptions import ResourceInUseException, ResourceNotFoundException
    from moto.eks.responses import EKSResponse
    from moto.moto_api._internal import mock_random as random

    entries = "{0}/clusters/(?P<name>[^/]+)/access-entries"
    urls.url_paths.update(
        {
            entries + "$": urls.response.dispatch,
            entries + "/(?P<principalArn>.+)/access-policies/(?P<policyArn>.+)$": urls.response.dispatch,
            entries + "/(?P<principalArn>.+)/access-policies$": urls.response.dispatch,
            entries + "/(?P<principalArn>.+)$": urls.response.dispatch,
        }
    )

    def not_found(what: str) -> ResourceNotFoundException:
        return ResourceNotFoundException(
            clusterName=None, nodegroupName=None, fargateProfileName=None, addonName=None, message=what
        )

    def cluster_of(self):
        name = self._get_param("clusterName") or self._get_param("name")
        if name not in self.eks_backend.clusters:
            raise not_found(f"No cluster found for name: {name}.")
        return name

    def entry_of(self) -> tuple[str, str, dict]:
        cluster, principal = cluster_of(self), self._get_param("principalArn")
        entry = _ACCESS_ENTRIES.get((cluster, principal))
        if entry is None:
            raise not_found(f"The specified principalArn could not be found: {principal}")
        return cluster, principal, entry

    def create_access_entry(self) -> ActionResult:
        cluster, principal = cluster_of(self), self._get_param("principalArn")
        if (cluster, principal) in _ACCESS_ENTRIES:
            raise ResourceInUseException(
                clusterName=cluster,
                nodegroupName=None,
                addonName=None,
                message="The specified access entry resource is already in use on this cluster.",
            )
        arn = self.eks_backend.clusters[cluster].arn.replace(":cluster/", ":access-entry/")
        role, account = principal.rsplit("/", 1)[-1], principal.split(":")[4]
        session = "{{SessionName}}"
        now = utcnow().isoformat()
        _ACCESS_ENTRIES[(cluster, principal)] = entry = {
            "clusterName": cluster,
            "principalArn": principal,
            "kubernetesGroups": self._get_param("kubernetesGroups") or [],
            "accessEntryArn": f"{arn}/role/{account}/{role}/{random.get_random_hex(8)}",
            "createdAt": now,
            "modifiedAt": now,
            "tags": self._get_param("tags") or {},
            "username": self._get_param("username") or f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
            "type": self._get_param("type") or "STANDARD",
        }
        return ActionResult({"accessEntry": entry})

    def describe_access_entry(self) -> ActionResult:
        return ActionResult({"accessEntry": entry_of(self)[2]})

    def update_access_entry(self) -> ActionResult:
        _, _, entry = entry_of(self)
        for key in ("kubernetesGroups", "username"):
            if self._get_param(key) is not None:
                entry[key] = self._get_param(key)
        entry["modifiedAt"] = utcnow().isoformat()
        return ActionResult({"accessEntry": entry})

    def delete_access_entry(self) -> ActionResult:
        cluster, principal, _ = entry_of(self)
        del _ACCESS_ENTRIES[(cluster, principal)]
        _ACCESS_POLICIES.pop((cluster, principal), None)
        return ActionResult({})

    def list_access_entries(self) -> ActionResult:
        cluster = cluster_of(self)
        return ActionResult({"accessEntries": sorted(p for c, p in _ACCESS_ENTRIES if c == cluster)})

    def associate_access_policy(self) -> ActionResult:
        cluster, principal, _ = entry_of(self)
        now = utcnow().isoformat()
        policy = self._get_param("policyArn")
        held = _ACCESS_POLICIES[(cluster, principal)]
        association = {
            "policyArn": policy,
            "accessScope": self._get_param("accessScope") or {"type": "cluster"},
            "associatedAt": held.get(policy, {}).get("associatedAt", now),
            "modifiedAt": now,
        }
        held[policy] = association
        return ActionResult({"clusterName": cluster, "principalArn": principal, "associatedAccessPolicy": association})

    def list_associated_access_policies(self) -> ActionResult:
        cluster, principal, _ = entry_of(self)
        policies = list(_ACCESS_POLICIES.get((cluster, principal), {}).values())
        return ActionResult({"clusterName": cluster, "principalArn": principal, "associatedAccessPolicies": policies})

    def disassociate_access_policy(self) -> ActionResult:
        cluster, principal, _ = entry_of(self)
        if _ACCESS_POLICIES.get((cluster, principal), {}).pop(self._get_param("policyArn"), None) is None:
            raise not_found("The specified access policy is not associated with this access entry.")
        return ActionResult({})

    for fn in (
        create_access_entry,
        describe_access_entry,
        update_access_entry,
        delete_access_entry,
        list_access_entries,
        associate_access_policy,
        list_associated_access_policies,
        disassociate_access_policy,
    ):
        setattr(EKSResponse, fn.__name__, fn)


def _tag_handlers(key_name: str, value_name: str, tag_list_key: str, as_map: bool):
    """Three response methods (list/tag/untag) over the shared tag store, for JSON-protocol services."""

    def list_tags_for_resource(self) -> str:
        arn = self._get_param("ResourceARN") or self._get_param("ResourceArn")
        tags = _TAGS.get(arn, {})
        body = tags if as_map else [{key_name: k, value_name: v} for k, v in tags.items()]
        return json.dumps({tag_list_key: body})

    def tag_resource(self) -> str:
        arn = self._get_param("ResourceARN") or self._get_param("ResourceArn")
        raw = self._get_param(tag_list_key) or ({} if as_map else [])
        items = raw.items() if isinstance(raw, dict) else ((t[key_name], t[value_name]) for t in raw)
        _TAGS[arn].update(dict(items))
        return "{}"

    def untag_resource(self) -> str:
        arn = self._get_param("ResourceARN") or self._get_param("ResourceArn")
        for k in self._get_param("TagKeys") or self._get_param("ResourceTagKeys") or []:
            _TAGS[arn].pop(k, None)
        return "{}"

    return list_tags_for_resource, tag_resource, untag_resource


def _sagemaker() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker import models as sm
    from moto.sagemaker.responses import SageMakerResponse

    def delete_model_package_group(self) -> ActionResult:
        name = self._get_param("ModelPackageGroupName")
        backend = self.sagemaker_backend
        if name not in backend.model_package_groups:
            from moto.sagemaker.exceptions import ValidationError

            raise ValidationError(message=f"Model Package Group {name} does not exist.")
        versions = [p for p in backend.model_packages.values() if p.model_package_group_name == name]
        if versions:
            from moto.sagemaker.exceptions import ConflictException

            raise ConflictException(
                f"Model Package Group {name} contains {len(versions)} model package(s); delete them before the group."
            )
        backend.model_package_groups.pop(name)
        return ActionResult({})

    SageMakerResponse.delete_model_package_group = delete_model_package_group

    def delete_model_package(self) -> ActionResult:
        name = self._get_param("ModelPackageName")
        backend = self.sagemaker_backend
        arn = backend.model_package_name_mapping.get(name, name)
        if backend.model_packages.pop(arn, None) is None:
            from moto.sagemaker.exceptions import ValidationError

            raise ValidationError(message=f"Model package {name} not found")
        for key in [k for k, v in backend.model_package_name_mapping.items() if v == arn]:
            del backend.model_package_name_mapping[key]
        return ActionResult({})

    SageMakerResponse.delete_model_package = delete_model_package

    create_model = SageMakerResponse.create_model

    def create_model_keeping_isolation(self):
        result = create_model(self)
        model = self.sagemaker_backend._models.get(self._get_param("ModelName"))
        if model is not None:
            model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        return result

    SageMakerResponse.create_model = create_model_keeping_isolation

    def update_endpoint(self) -> ActionResult:
        backend = self.sagemaker_backend
        name, config_name = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
        from moto.sagemaker.exceptions import ValidationError

        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            raise ValidationError(message=f"Could not find endpoint '{name}'.")
        config = backend.endpoint_configs.get(config_name)
        if config is None:
            raise ValidationError(message=f"Could not find endpoint configuration '{config_name}'.")
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
        endpoint.data_capture_config = config.data_capture_config
        endpoint.last_modified_time = sm.utcnow()
        return ActionResult({"EndpointArn": endpoint.arn})

    SageMakerResponse.update_endpoint = update_endpoint

    original = sm.FakeEndpointConfig.validate_instance_type

    def validate_instance_type(self, instance_type: str) -> None:
        if instance_type.startswith(GPU_SERVING_FAMILIES):
            return
        original(self, instance_type)

    sm.FakeEndpointConfig.validate_instance_type = validate_instance_type


def _application_autoscaling() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as R

    lst, tag, untag = _tag_handlers("Key", "Value", "Tags", as_map=True)
    R.list_tags_for_resource, R.tag_resource, R.untag_resource = lst, tag, untag
    register = R.register_scalable_target

    def register_keeping_tags(self) -> str:
        body = register(self)
        arn = json.loads(body)["ScalableTargetARN"]
        _TAGS[arn].update(self._get_param("Tags") or {})
        return body

    R.register_scalable_target = register_keeping_tags


def _budgets() -> None:
    from moto.budgets.responses import BudgetsResponse as R

    def describe_subscribers_for_notification(self) -> str:
        account_id, name = self._get_param("AccountId"), self._get_param("BudgetName")
        wanted = self._get_param("Notification")
        budget = self.backend.budgets[account_id][name]
        for n in budget.notifications:
            if all(n.details.get(k) == v for k, v in wanted.items() if k in ("NotificationType", "ComparisonOperator")):
                return json.dumps({"Subscribers": n.subscribers})
        return json.dumps({"Subscribers": []})

    R.describe_subscribers_for_notification = describe_subscribers_for_notification
    create_budget = R.create_budget

    def create_budget_keeping_tags(self) -> str:
        body = create_budget(self)
        name = self._get_param("Budget")["BudgetName"]
        arn = f"arn:aws:budgets::{self._get_param('AccountId')}:budget/{name}"
        _TAGS[arn].update({t["Key"]: t["Value"] for t in self._get_param("ResourceTags") or []})
        return body

    R.create_budget = create_budget_keeping_tags

    def update_budget(self) -> str:
        from moto.budgets.exceptions import BudgetMissingLimit, NotFoundException
        from moto.core.utils import unix_time

        account_id, new = self._get_param("AccountId"), dict(self._get_param("NewBudget"))
        budget = self.backend.budgets[account_id].get(new.get("BudgetName"))
        if budget is None:
            raise NotFoundException(f"Unable to update budget - {new.get('BudgetName')} does not exist")
        if "BudgetLimit" not in new and "PlannedBudgetLimits" not in new:
            raise BudgetMissingLimit()
        new.setdefault("TimePeriod", budget.budget.get("TimePeriod"))
        new["LastUpdatedTime"] = unix_time()
        budget.budget = new
        return json.dumps({})

    R.update_budget = update_budget
    lst, tag, untag = _tag_handlers("Key", "Value", "ResourceTags", as_map=False)
    R.list_tags_for_resource, R.tag_resource, R.untag_resource = lst, tag, untag
