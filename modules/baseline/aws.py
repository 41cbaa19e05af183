"""The secure baseline on AWS: isolated network, keys, persona roles, secrets, budget, audit trail."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeVar

import jsii
from cdktn import Fn, IAnyProducer, IResolveContext, IStringProducer, Lazy, TerraformStack
from cdktn_provider_aws.budgets_budget import BudgetsBudget, BudgetsBudgetNotification
from cdktn_provider_aws.cloudtrail import Cloudtrail
from cdktn_provider_aws.data_aws_availability_zones import DataAwsAvailabilityZones
from cdktn_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktn_provider_aws.data_aws_partition import DataAwsPartition
from cdktn_provider_aws.data_aws_prefix_list import DataAwsPrefixList
from cdktn_provider_aws.flow_log import FlowLog
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.route_table import RouteTable
from cdktn_provider_aws.route_table_association import RouteTableAssociation
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
)
from cdktn_provider_aws.s3_bucket_object_lock_configuration import (
    S3BucketObjectLockConfigurationA,
    S3BucketObjectLockConfigurationRuleA,
    S3BucketObjectLockConfigurationRuleDefaultRetentionA,
)
from cdktn_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktn_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktn_provider_aws.security_group import SecurityGroup, SecurityGroupEgress, SecurityGroupIngress
from cdktn_provider_aws.subnet import Subnet
from cdktn_provider_aws.vpc import Vpc
from cdktn_provider_aws.vpc_endpoint import VpcEndpoint
from constructs import Construct

from mlops_blueprint.blueprints.model import PERSONAS, Baseline
from mlops_blueprint.modules.aws_common import (
    assume_role_policy,
    deny_insecure_transport,
    document,
    lifecycle_rule,
    protect,
    secure_bucket_parts,
    statement,
)
from mlops_blueprint.stacks.aws.names import AwsNames

KEY_PURPOSES = ("data", "ml", "ops")
INTERFACE_ENDPOINTS = (
    "sts",
    "kms",
    "logs",
    "secretsmanager",
    "ecr.api",
    "ecr.dkr",
    "sagemaker.api",
    "sagemaker.runtime",
    # EKS Pod Identity: the agent on each node gets a pod's credentials from the EKS Auth API, which a
    # VPC without internet reaches only through this endpoint (the CloudWatch agent's role, the trainer's).
    "eks-auth",
)
# Audit logs stay undeletable this long (object lock, GOVERNANCE: only a principal allowed
# s3:BypassGovernanceRetention can shorten it), then expire.
AUDIT_RETENTION_DAYS = 365

_Rule = TypeVar("_Rule", SecurityGroupIngress, SecurityGroupEgress)


def _https(rule: type[_Rule], description: str, cidr: str) -> _Rule:
    """A security group rule (ingress or egress) for HTTPS to or from `cidr`."""
    return rule(description=description, from_port=443, to_port=443, protocol="tcp", cidr_blocks=[cidr])


@dataclass(frozen=True)
class BaselineProps:
    """naming: the environment's names. spec: network and budget (omitted: /16 over two zones, 1000 USD).
    notify: budget alert recipients. protect: prevent_destroy on the keys."""

    naming: AwsNames
    spec: Baseline
    region: str
    notify: tuple[str, ...]
    protect: bool


class AwsBaseline(Construct):
    """Isolated VPC (private subnets only, no internet gateway) with endpoints to the services the
    platform uses, one KMS key per purpose, one IAM role per persona with no permissions until a
    component grants some, a secret for shared connection credentials, a monthly budget, and an audit
    trail: a multi-region CloudTrail trail with management events and S3 data events (every object
    read and write) on every bucket the stack makes (lake zones, model artifacts, request capture),
    and VPC flow logs, both into a KMS-encrypted log bucket with object lock in GOVERNANCE mode.
    The log bucket is stateful (the data-loss guard's `aws_s3_bucket`) and prevent_destroy when
    protected."""

    def __init__(self, scope: Construct, id: str, *, props: BaselineProps):
        super().__init__(scope, id)
        n, spec = props.naming, props.spec
        self.naming = n
        self.region = props.region
        self.identity = DataAwsCallerIdentity(self, "identity")
        self.partition = DataAwsPartition(self, "partition")
        self.account_id = self.identity.account_id
        root = f"arn:{self.partition.partition}:iam::{self.account_id}:root"

        # Keys: one per purpose so a grant on ML artifacts never opens the lake.
        self.keys: dict[str, KmsKey] = {}
        self.key_grants: dict[str, list[dict]] = {p: [] for p in KEY_PURPOSES}  # see grant_ebs_encryption
        for purpose in KEY_PURPOSES:
            key = KmsKey(
                self,
                f"key-{purpose}",
                description=f"{n.prefix} {purpose} encryption",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=self._key_policy(root, purpose),
                lifecycle=protect(props.protect),
            )
            KmsAlias(self, f"key-{purpose}-alias", name=n.key_alias(purpose), target_key_id=key.key_id)
            self.keys[purpose] = key

        # Network: private subnets only; AWS services through endpoints.
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=spec.network.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": n.name("vpc")},
        )
        azs = DataAwsAvailabilityZones(self, "azs", state="available")
        self.route_table = RouteTable(self, "private-routes", vpc_id=self.vpc.id, tags={"Name": n.name("private")})
        self.subnets: list[Subnet] = []
        for i in range(spec.network.zones):
            sn = Subnet(
                self,
                f"private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=Fn.cidrsubnet(spec.network.cidr, 4, i),
                availability_zone=Fn.element(azs.names, i),
                map_public_ip_on_launch=False,
                tags={"Name": n.name("private", str(i)), "kubernetes.io/role/internal-elb": "1"},
            )
            RouteTableAssociation(self, f"private-{i}-routes", subnet_id=sn.id, route_table_id=self.route_table.id)
            self.subnets.append(sn)
        self.subnet_ids = [s.id for s in self.subnets]
        self.endpoint_sg = SecurityGroup(
            self,
            "endpoints-sg",
            name=n.name("endpoints"),
            vpc_id=self.vpc.id,
            description="HTTPS from inside the VPC to AWS service endpoints",
            ingress=[_https(SecurityGroupIngress, "HTTPS from the VPC", spec.network.cidr)],
            egress=[_https(SecurityGroupEgress, "HTTPS inside the VPC", spec.network.cidr)],
        )
        self.workload_sg = SecurityGroup(
            self,
            "workload-sg",
            name=n.name("workloads"),
            vpc_id=self.vpc.id,
            description="ML workloads: no inbound, HTTPS out to the VPC endpoints only",
            egress=[
                _https(SecurityGroupEgress, "HTTPS to VPC endpoints", spec.network.cidr),
                # The S3 gateway endpoint routes to S3's public addresses, outside the VPC CIDR: the group
                # must allow them by S3's managed prefix list (model data and ECR layers come from S3),
                # https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html
                SecurityGroupEgress(
                    description="HTTPS to S3 through the gateway endpoint",
                    from_port=443,
                    to_port=443,
                    protocol="tcp",
                    prefix_list_ids=[
                        DataAwsPrefixList(self, "s3-prefix-list", name=f"com.amazonaws.{props.region}.s3").id
                    ],
                ),
            ],
        )
        VpcEndpoint(
            self,
            "endpoint-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{props.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[self.route_table.id],
        )
        self.interface_endpoints: dict[str, VpcEndpoint] = {}
        for svc in INTERFACE_ENDPOINTS:
            self.interface_endpoints[svc] = VpcEndpoint(
                self,
                f"endpoint-{svc.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{props.region}.{svc}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.subnet_ids,
                security_group_ids=[self.endpoint_sg.id],
            )

        # Personas: roles the organisation's SSO maps people to. Components grant them access.
        self.roles: dict[str, IamRole] = {
            p: IamRole(
                self,
                f"role-{p}",
                name=n.persona_role(p),
                assume_role_policy=assume_role_policy(aws=root),
                max_session_duration=3600,
                description=f"{p.replace('_', ' ')} of {n.prefix}",
            )
            for p in PERSONAS
        }

        self.shared_secret = SecretsmanagerSecret(
            self,
            "shared-connections",
            name=f"{n.prefix}/shared-connections",
            kms_key_id=self.keys["ops"].arn,
            description="Connection credentials shared by platform jobs; the value is set out of band, never in code",
            recovery_window_in_days=0 if not props.protect else 30,
        )

        self._audit(props, root)

        BudgetsBudget(
            self,
            "budget",
            name=n.name("monthly"),
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=str(spec.budget.monthly_limit_usd),
            limit_unit="USD",
            notification=[
                BudgetsBudgetNotification(
                    comparison_operator="GREATER_THAN",
                    threshold=spec.budget.alert_at_percent,
                    threshold_type="PERCENTAGE",
                    notification_type="FORECASTED",
                    subscriber_email_addresses=list(props.notify),
                )
            ],
        )

    def _audit(self, props: BaselineProps, root: str) -> None:
        n, account, partition = props.naming, self.account_id, self.partition.partition
        trail_name = n.name("audit")
        trail_arn = f"arn:{partition}:cloudtrail:{props.region}:{account}:trail/{trail_name}"
        self.audit_bucket, versioning = secure_bucket_parts(
            self,
            "audit-logs",
            part_prefix="audit-logs-",
            name=n.bucket("audit-logs"),
            kms_key_arn=self.keys["ops"].arn,
            protected=props.protect,
            object_lock=True,
        )
        arn = self.audit_bucket.arn
        S3BucketObjectLockConfigurationA(
            self,
            "audit-logs-object-lock",
            bucket=self.audit_bucket.id,
            rule=S3BucketObjectLockConfigurationRuleA(
                default_retention=S3BucketObjectLockConfigurationRuleDefaultRetentionA(
                    mode="GOVERNANCE", days=AUDIT_RETENTION_DAYS
                )
            ),
            depends_on=[versioning],
        )
        S3BucketLifecycleConfiguration(
            self,
            "audit-logs-lifecycle",
            bucket=self.audit_bucket.id,
            rule=[
                lifecycle_rule(
                    "expire-after-retention",
                    noncurrent_days=AUDIT_RETENTION_DAYS + 1,
                    expire_days=AUDIT_RETENTION_DAYS + 1,
                )
            ],
            depends_on=[versioning],
        )
        delivery = {"Service": "delivery.logs.amazonaws.com"}
        policy = S3BucketPolicy(
            self,
            "audit-logs-policy",
            bucket=self.audit_bucket.id,
            policy=document(
                deny_insecure_transport(arn),
                statement(
                    ["s3:GetBucketAcl"],
                    [arn],
                    sid="CloudTrailAclCheck",
                    principal={"Service": "cloudtrail.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceArn": trail_arn}},
                ),
                statement(
                    ["s3:PutObject"],
                    [f"{arn}/AWSLogs/{account}/*"],
                    sid="CloudTrailWrite",
                    principal={"Service": "cloudtrail.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceArn": trail_arn}},
                ),
                statement(
                    ["s3:GetBucketAcl"],
                    [arn],
                    sid="FlowLogsAclCheck",
                    principal=delivery,
                    condition={"StringEquals": {"aws:SourceAccount": account}},
                ),
                statement(
                    ["s3:PutObject"],
                    [f"{arn}/AWSLogs/{account}/*"],
                    sid="FlowLogsWrite",
                    principal=delivery,
                    condition={"StringEquals": {"aws:SourceAccount": account}},
                ),
            ),
        )
        self.trail = Cloudtrail(
            self,
            "trail",
            name=trail_name,
            s3_bucket_name=self.audit_bucket.id,
            kms_key_id=self.keys["ops"].arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            advanced_event_selector=Lazy.any_value(_EventSelectors(self)),
            depends_on=[policy],
        )
        self.flow_log = FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="s3",
            # The bucket itself: flow logs land under AWSLogs/<account>/vpcflowlogs/, beside CloudTrail's
            # AWSLogs/<account>/CloudTrail/.
            log_destination=arn,
            max_aggregation_interval=600,
            depends_on=[policy],
            tags={"Name": n.name("flow-log")},
        )

    def audited_buckets(self) -> list[S3Bucket]:
        """Every bucket of this stack whose object reads and writes the trail records: all but its own."""
        stack = TerraformStack.of(self)
        return [c for c in stack.node.find_all() if isinstance(c, S3Bucket) and c is not self.audit_bucket]

    @property
    def personas(self) -> dict[str, IamRole]:
        """The persona roles (the principals components grant to)."""
        return self.roles

    def _key_policy(self, root: str, purpose: str) -> str:
        statements: list[dict] = [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": ["kms:*"],
                "Resource": "*",
            }
        ]
        if purpose == "ops":
            statements.append(
                {
                    "Sid": "AlarmsAndLogsEncrypt",
                    "Effect": "Allow",
                    "Principal": {"Service": ["cloudwatch.amazonaws.com", "logs.amazonaws.com", "sns.amazonaws.com"]},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                }
            )
            statements.append(
                {
                    "Sid": "AuditLogsEncrypt",
                    "Effect": "Allow",
                    "Principal": {"Service": ["cloudtrail.amazonaws.com", "delivery.logs.amazonaws.com"]},
                    "Action": ["kms:DescribeKey", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": self.account_id}},
                }
            )
        # Produced at synthesis: a component's grant (grant_ebs_encryption) comes after the key is made.
        return Lazy.string_value(_KeyPolicy(statements, self.key_grants[purpose]))

    def grant_ebs_encryption(self, purpose: str, role: IamRole, *, sid: str) -> None:
        """Let `role` launch EC2 instances whose EBS volumes are encrypted with the `purpose` key: the two
        key-policy statements AWS documents for a principal that launches instances with a customer managed
        key (for EKS Auto Mode: its cluster role, https://docs.aws.amazon.com/eks/latest/userguide/auto-kms.html).
        `<sid>Use`: Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey; `<sid>Grants`: CreateGrant,
        ListGrants, RevokeGrant only for grants to an AWS service (kms:GrantIsForAWSResource: EBS takes a
        grant for each volume it attaches). Nothing else gets access through this."""
        if not sid.isalnum():
            raise ValueError(f"key policy Sid {sid!r}: letters and digits only")
        grants = self.key_grants[purpose]
        if any(st["Sid"].startswith(sid) for st in grants):
            raise ValueError(f"key {purpose!r}: a grant with Sid {sid!r} exists; give each grant its own Sid")
        principal = {"AWS": role.arn}
        grants.append(
            {
                "Sid": f"{sid}Use",
                "Effect": "Allow",
                "Principal": principal,
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
            }
        )
        grants.append(
            {
                "Sid": f"{sid}Grants",
                "Effect": "Allow",
                "Principal": principal,
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            }
        )

    def key_statements(self, purpose: str, write: bool = False) -> dict:
        """Use of one key, for a role that reads (and maybe writes) data encrypted with it."""
        actions = ["kms:Decrypt", "kms:DescribeKey"] + (["kms:GenerateDataKey", "kms:Encrypt"] if write else [])
        return {"Effect": "Allow", "Action": sorted(actions), "Resource": [self.keys[purpose].arn]}


@jsii.implements(IStringProducer)
class _KeyPolicy:
    """A key's policy, produced at synthesis: its own statements, then the grants components added."""

    def __init__(self, statements: list[dict], grants: list[dict]):
        self.statements = statements
        self.grants = grants

    def produce(self, context: IResolveContext) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [*self.statements, *self.grants]})


@jsii.implements(IAnyProducer)
class _EventSelectors:
    """The trail's advanced event selectors, produced at synthesis when every bucket exists: management
    events, and S3 data events on the objects of every bucket the stack makes (the log bucket excluded:
    logging its own writes would feed itself)."""

    def __init__(self, baseline: AwsBaseline):
        self.baseline = baseline

    def produce(self, context: IResolveContext) -> list[dict]:
        selectors: list[dict] = [
            {"name": "Management events", "field_selector": [{"field": "eventCategory", "equals": ["Management"]}]}
        ]
        buckets = [f"{b.arn}/" for b in self.baseline.audited_buckets()]
        if buckets:
            selectors.append(
                {
                    "name": "S3 object reads and writes on the platform's buckets",
                    "field_selector": [
                        {"field": "eventCategory", "equals": ["Data"]},
                        {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                        {"field": "resources.ARN", "starts_with": buckets},
                    ],
                }
            )
        return selectors
