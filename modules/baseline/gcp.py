"""The secure baseline on GCP: isolated VPC, keys, persona service accounts, secrets, channels, budget."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import Fn, Token
from cdktn_provider_google.billing_budget import BillingBudget, BillingBudgetThresholdRules
from cdktn_provider_google.compute_firewall import ComputeFirewall, ComputeFirewallAllow, ComputeFirewallDeny
from cdktn_provider_google.compute_network import ComputeNetwork
from cdktn_provider_google.compute_route import ComputeRoute
from cdktn_provider_google.compute_subnetwork import ComputeSubnetwork, ComputeSubnetworkSecondaryIpRange
from cdktn_provider_google.data_google_compute_zones import DataGoogleComputeZones
from cdktn_provider_google.data_google_project import DataGoogleProject
from cdktn_provider_google.data_google_storage_project_service_account import DataGoogleStorageProjectServiceAccount
from cdktn_provider_google.dns_managed_zone import DnsManagedZone
from cdktn_provider_google.dns_managed_zone import DnsManagedZonePrivateVisibilityConfigNetworks as DnsNetwork
from cdktn_provider_google.dns_record_set import DnsRecordSet
from cdktn_provider_google.kms_crypto_key import KmsCryptoKey
from cdktn_provider_google.kms_crypto_key_iam_member import KmsCryptoKeyIamMember
from cdktn_provider_google.kms_key_ring import KmsKeyRing
from cdktn_provider_google.monitoring_notification_channel import MonitoringNotificationChannel
from cdktn_provider_google.project_iam_audit_config import (
    ProjectIamAuditConfig,
    ProjectIamAuditConfigAuditLogConfig,
)
from cdktn_provider_google.project_service import ProjectService
from cdktn_provider_google.secret_manager_secret import (
    SecretManagerSecret,
)
from cdktn_provider_google.secret_manager_secret import (
    SecretManagerSecretReplicationUserManagedReplicas as SecretReplica,
)
from cdktn_provider_google.service_account import ServiceAccount
from cdktn_provider_google_beta.google_project_service_identity import GoogleProjectServiceIdentity
from constructs import Construct

from mlops_blueprint.blueprints.model import PERSONAS, Baseline
from mlops_blueprint.modules.gcp_common import API_OF_TYPE, EXTRA_APIS, protect
from mlops_blueprint.stacks.gcp.names import GcpNames

KEY_PURPOSES = ("data", "ml", "ops")
ROTATION = "7776000s"  # 90 days
# Every API a resource of the stacks calls (modules/gcp_common.API_OF_TYPE, EXTRA_APIS), so none can be
# left out; the two the project must already have (PREREQUISITE_APIS) are listed too, harmlessly.
APIS = tuple(sorted({*API_OF_TYPE.values(), *(api for extra in EXTRA_APIS.values() for api in extra)}))
# Services whose Data Access audit logs (DATA_READ, DATA_WRITE) are on: the lake and the catalog.
AUDITED_SERVICES = ("storage.googleapis.com", "bigquery.googleapis.com")
# The private Google API VIP (private.googleapis.com): the only way out of the network.
PRIVATE_APIS_RANGE = "199.36.153.8/30"
PRIVATE_APIS_IPS = ("199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11")
PRIVATE_DNS = {"googleapis": "googleapis.com.", "pkg-dev": "pkg.dev.", "gcr-io": "gcr.io."}
GKE_MASTER_RANGE = "172.16.0.0/28"
# Which Google service agents encrypt with which key (CMEK): each gets encrypt/decrypt on that key only.
AGENT_KEYS: dict[str, tuple[str, ...]] = {
    "data": ("storage", "bigquery"),
    "ml": ("storage", "bigquery", "aiplatform", "artifactregistry", "container", "compute"),
    "ops": ("secretmanager",),
}


@dataclass(frozen=True)
class BaselineProps:
    """naming: the environment's names. spec: network and budget (omitted: /16 over two zones, 1000 USD).
    notify: alert and budget recipients (email channels). billing_account: omitted, no budget.
    protect: prevent_destroy on the keys and key ring."""

    naming: GcpNames
    spec: Baseline
    project: str
    region: str
    notify: tuple[str, ...]
    billing_account: str | None
    protect: bool


class GcpBaseline(Construct):
    """A custom-mode VPC with no internet route: one subnet with Private Google Access and flow logs,
    secondary ranges for GKE, Google APIs reached through private.googleapis.com (private DNS zones),
    egress denied except to Google APIs and inside the network. One KMS key per purpose (rotating),
    the service agents granted exactly the keys they use, one service account per persona with no
    roles until a component grants some, a CMEK secret for shared credentials, email notification
    channels, a billing budget when a billing account is given, and Data Access audit logs
    (DATA_READ, DATA_WRITE) for Cloud Storage and BigQuery: who read or wrote lake data is on record."""

    def __init__(self, scope: Construct, id: str, *, props: BaselineProps):
        super().__init__(scope, id)
        n, spec = props.naming, props.spec
        self.naming, self.project, self.region = n, props.project, props.region
        self.project_data = DataGoogleProject(self, "project", project_id=props.project)
        self.project_number = self.project_data.number
        self.services = [
            ProjectService(self, f"api-{api.split('.')[0]}", service=api, disable_on_destroy=False) for api in APIS
        ]

        # Data Access audit logs: off by default on GCP (only Admin Activity is always on). One config per
        # service: reads and writes of lake objects and of the catalog's datasets land in Cloud Logging.
        self.audit_configs: dict[str, ProjectIamAuditConfig] = {
            svc: ProjectIamAuditConfig(
                self,
                f"audit-{svc.split('.')[0]}",
                project=props.project,
                service=svc,
                audit_log_config=[ProjectIamAuditConfigAuditLogConfig(log_type=t) for t in ("DATA_READ", "DATA_WRITE")],
            )
            for svc in AUDITED_SERVICES
        }

        # Keys: one per purpose so that a grant on ML artifacts never opens the lake.
        self.key_ring = KmsKeyRing(
            self,
            "keyring",
            name=n.key_ring,
            location=props.region,
            lifecycle=protect(props.protect),
            depends_on=self.services,
        )
        self.keys: dict[str, KmsCryptoKey] = {
            purpose: KmsCryptoKey(
                self,
                f"key-{purpose}",
                name=purpose,
                key_ring=self.key_ring.id,
                rotation_period=ROTATION,
                purpose="ENCRYPT_DECRYPT",
                version_template={"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protection_level": "SOFTWARE"},
                lifecycle=protect(props.protect),
            )
            for purpose in KEY_PURPOSES
        }
        num = self.project_number
        gcs = DataGoogleStorageProjectServiceAccount(self, "gcs-agent", project=props.project)
        identities = {
            svc: GoogleProjectServiceIdentity(
                self, f"agent-{svc}", project=props.project, service=f"{svc}.googleapis.com", depends_on=self.services
            )
            for svc in ("aiplatform", "artifactregistry", "secretmanager")
        }
        self.agents: dict[str, str] = {
            "storage": f"serviceAccount:{gcs.email_address}",
            "bigquery": f"serviceAccount:bq-{num}@bigquery-encryption.iam.gserviceaccount.com",
            "container": f"serviceAccount:service-{num}@container-engine-robot.iam.gserviceaccount.com",
            "compute": f"serviceAccount:service-{num}@compute-system.iam.gserviceaccount.com",
            **{svc: identity.member for svc, identity in identities.items()},
        }
        self.key_grants: dict[str, list[KmsCryptoKeyIamMember]] = {
            purpose: [
                KmsCryptoKeyIamMember(
                    self,
                    f"key-{purpose}-{agent}",
                    crypto_key_id=self.keys[purpose].id,
                    role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                    member=self.agents[agent],
                )
                for agent in agents
            ]
            for purpose, agents in AGENT_KEYS.items()
        }

        # Network: no default routes, so nothing reaches the internet; Google APIs through the private VIP.
        cidr = spec.network.cidr
        self.network = ComputeNetwork(
            self,
            "vpc",
            name=n.gcp_id("vpc", what="VPC network"),
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            delete_default_routes_on_create=True,
            depends_on=self.services,
        )
        self.subnet = ComputeSubnetwork(
            self,
            "subnet",
            name=n.gcp_id("private", what="subnetwork"),
            network=self.network.id,
            region=props.region,
            ip_cidr_range=Fn.cidrsubnet(cidr, 4, 0),
            private_ip_google_access=True,
            secondary_ip_range=[
                ComputeSubnetworkSecondaryIpRange(range_name="services", ip_cidr_range=Fn.cidrsubnet(cidr, 4, 1)),
                ComputeSubnetworkSecondaryIpRange(range_name="pods", ip_cidr_range=Fn.cidrsubnet(cidr, 2, 1)),
            ],
            log_config={
                "aggregation_interval": "INTERVAL_5_SEC",
                "flow_sampling": 0.5,
                "metadata": "INCLUDE_ALL_METADATA",
            },
        )
        self.zones = Token.as_list(
            Fn.slice(
                DataGoogleComputeZones(self, "zones", region=props.region, status="UP").names, 0, spec.network.zones
            )
        )
        ComputeRoute(
            self,
            "route-private-apis",
            name=n.gcp_id("private-apis", what="route"),
            network=self.network.id,
            dest_range=PRIVATE_APIS_RANGE,
            next_hop_gateway="default-internet-gateway",
            priority=100,
        )
        for key, dns in PRIVATE_DNS.items():
            zone = DnsManagedZone(
                self,
                f"dns-{key}",
                name=n.gcp_id(key, what="DNS zone"),
                dns_name=dns,
                visibility="private",
                description=f"{dns} through private.googleapis.com",
                private_visibility_config={"networks": [DnsNetwork(network_url=self.network.id)]},
                depends_on=self.services,
            )
            apex = f"private.{dns}" if key == "googleapis" else dns  # the name that holds the VIP addresses
            DnsRecordSet(
                self,
                f"dns-{key}-a",
                managed_zone=zone.name,
                name=apex,
                type="A",
                ttl=300,
                rrdatas=list(PRIVATE_APIS_IPS),
            )
            DnsRecordSet(
                self, f"dns-{key}-cname", managed_zone=zone.name, name=f"*.{dns}", type="CNAME", ttl=300, rrdatas=[apex]
            )
        internal = [cidr, GKE_MASTER_RANGE]

        def egress(
            id: str,
            name: str,
            priority: int,
            ranges: list[str],
            description: str,
            *,
            allow: list[ComputeFirewallAllow] | None = None,
            deny: list[ComputeFirewallDeny] | None = None,
            log_config: dict[str, str] | None = None,
        ) -> None:
            """An egress firewall rule of the network, to `ranges`."""
            ComputeFirewall(
                self,
                id,
                name=n.gcp_id(name, what="firewall"),
                network=self.network.id,
                direction="EGRESS",
                priority=priority,
                destination_ranges=ranges,
                allow=allow,
                deny=deny,
                log_config=log_config,
                description=description,
            )

        egress(
            "fw-deny-egress",
            "deny-egress",
            65000,
            ["0.0.0.0/0"],
            "Nothing leaves the network except what the rules above allow",
            deny=[ComputeFirewallDeny(protocol="all")],
            log_config={"metadata": "INCLUDE_ALL_METADATA"},
        )
        egress(
            "fw-allow-apis",
            "allow-google-apis",
            1000,
            [PRIVATE_APIS_RANGE],
            "HTTPS to Google APIs through private.googleapis.com",
            allow=[ComputeFirewallAllow(protocol="tcp", ports=["443"])],
        )
        egress(
            "fw-allow-internal",
            "allow-internal",
            1000,
            internal,
            "Traffic inside the network and to the GKE control plane",
            allow=[ComputeFirewallAllow(protocol=p) for p in ("tcp", "udp", "icmp")],
        )

        # Personas: service accounts the organisation's groups impersonate. Components grant them access.
        self.personas: dict[str, ServiceAccount] = {
            p: ServiceAccount(
                self,
                f"sa-{p}",
                account_id=n.persona_account(p),
                display_name=f"{p.replace('_', ' ')} of {n.prefix}",
                description="Persona identity; roles come only from the components' grants",
            )
            for p in PERSONAS
        }

        self.shared_secret = SecretManagerSecret(
            self,
            "shared-connections",
            secret_id=n.name("shared-connections"),
            replication={
                "user_managed": {
                    "replicas": [
                        SecretReplica(
                            location=props.region, customer_managed_encryption={"kms_key_name": self.keys["ops"].id}
                        )
                    ]
                }
            },
            depends_on=self.key_grants["ops"],
        )

        self.channels = [
            MonitoringNotificationChannel(
                self,
                f"notify-{i}",
                display_name=f"{n.prefix} {email}",
                type="email",
                labels={"email_address": email},
                depends_on=self.services,
            )
            for i, email in enumerate(props.notify)
        ]
        if props.billing_account:
            BillingBudget(
                self,
                "budget",
                billing_account=props.billing_account,
                display_name=n.name("monthly"),
                budget_filter={"projects": [f"projects/{num}"], "calendar_period": "MONTH"},
                amount={"specified_amount": {"currency_code": "USD", "units": str(spec.budget.monthly_limit_usd)}},
                threshold_rules=[
                    BillingBudgetThresholdRules(
                        threshold_percent=spec.budget.alert_at_percent / 100, spend_basis="FORECASTED_SPEND"
                    )
                ],
                all_updates_rule={
                    "monitoring_notification_channels": [c.id for c in self.channels],
                    "disable_default_iam_recipients": False,
                },
            )

    def key(self, purpose: str) -> str:
        return self.keys[purpose].id

    def with_key(self, purpose: str) -> list:
        """What a resource encrypted with `purpose`'s key must wait for: the service agents' grants."""
        return list(self.key_grants[purpose])
