"""The secure baseline on AWS: isolated network, keys, persona roles, secrets, budget."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktn import Fn
from cdktn_provider_aws.budgets_budget import BudgetsBudget, BudgetsBudgetNotification
from cdktn_provider_aws.data_aws_availability_zones import DataAwsAvailabilityZones
from cdktn_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktn_provider_aws.data_aws_partition import DataAwsPartition
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.route_table import RouteTable
from cdktn_provider_aws.route_table_association import RouteTableAssociation
from cdktn_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktn_provider_aws.security_group import SecurityGroup, SecurityGroupEgress, SecurityGroupIngress
from cdktn_provider_aws.subnet import Subnet
from cdktn_provider_aws.vpc import Vpc
from cdktn_provider_aws.vpc_endpoint import VpcEndpoint
from constructs import Construct

from mlops_blueprint.blueprints.model import PERSONAS, Baseline
from mlops_blueprint.modules.aws_common import assume_role_policy, protect
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
)


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
    component grants some, a secret for shared connection credentials, and a monthly budget."""

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
            ingress=[
                SecurityGroupIngress(
                    description="HTTPS from the VPC",
                    from_port=443,
                    to_port=443,
                    protocol="tcp",
                    cidr_blocks=[spec.network.cidr],
                )
            ],
            egress=[
                SecurityGroupEgress(
                    description="HTTPS inside the VPC",
                    from_port=443,
                    to_port=443,
                    protocol="tcp",
                    cidr_blocks=[spec.network.cidr],
                )
            ],
        )
        self.workload_sg = SecurityGroup(
            self,
            "workload-sg",
            name=n.name("workloads"),
            vpc_id=self.vpc.id,
            description="ML workloads: no inbound, HTTPS out to the VPC endpoints only",
            egress=[
                SecurityGroupEgress(
                    description="HTTPS to VPC endpoints",
                    from_port=443,
                    to_port=443,
                    protocol="tcp",
                    cidr_blocks=[spec.network.cidr],
                )
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
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    def key_statements(self, purpose: str, write: bool = False) -> dict:
        """Use of one key, for a role that reads (and maybe writes) data encrypted with it."""
        actions = ["kms:Decrypt", "kms:DescribeKey"] + (["kms:GenerateDataKey", "kms:Encrypt"] if write else [])
        return {"Effect": "Allow", "Action": sorted(actions), "Resource": [self.keys[purpose].arn]}
