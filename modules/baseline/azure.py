"""The secure baseline on Azure: one resource group holding an isolated VNet, a private Key Vault with
rotating HSM keys, the encryption identity, persona identities, Log Analytics and a budget."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from cdktn import Fn, TerraformResourceLifecycle
from cdktn_provider_azurerm.consumption_budget_resource_group import (
    ConsumptionBudgetResourceGroup,
)
from cdktn_provider_azurerm.consumption_budget_resource_group import (
    ConsumptionBudgetResourceGroupNotification as BudgetNotification,
)
from cdktn_provider_azurerm.consumption_budget_resource_group import (
    ConsumptionBudgetResourceGroupTimePeriod as BudgetPeriod,
)
from cdktn_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig
from cdktn_provider_azurerm.key_vault import KeyVault, KeyVaultNetworkAcls
from cdktn_provider_azurerm.key_vault_key import (
    KeyVaultKey,
    KeyVaultKeyRotationPolicy,
    KeyVaultKeyRotationPolicyAutomatic,
)
from cdktn_provider_azurerm.log_analytics_workspace import LogAnalyticsWorkspace
from cdktn_provider_azurerm.monitor_diagnostic_setting import (
    MonitorDiagnosticSetting,
    MonitorDiagnosticSettingEnabledLog,
    MonitorDiagnosticSettingEnabledMetric,
)
from cdktn_provider_azurerm.network_security_group import NetworkSecurityGroup
from cdktn_provider_azurerm.network_security_rule import NetworkSecurityRule
from cdktn_provider_azurerm.private_dns_zone import PrivateDnsZone
from cdktn_provider_azurerm.private_dns_zone_virtual_network_link import PrivateDnsZoneVirtualNetworkLink
from cdktn_provider_azurerm.private_endpoint import (
    PrivateEndpoint,
    PrivateEndpointPrivateDnsZoneGroup,
    PrivateEndpointPrivateServiceConnection,
)
from cdktn_provider_azurerm.resource_group import ResourceGroup
from cdktn_provider_azurerm.role_assignment import RoleAssignment
from cdktn_provider_azurerm.subnet import Subnet
from cdktn_provider_azurerm.subnet_network_security_group_association import SubnetNetworkSecurityGroupAssociation
from cdktn_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from cdktn_provider_azurerm.virtual_network import VirtualNetwork
from cdktn_provider_azurerm.virtual_network_peering import VirtualNetworkPeering
from constructs import Construct

from mlops_blueprint.blueprints.model import PERSONAS, Baseline
from mlops_blueprint.modules.azure_common import assign_role, protect
from mlops_blueprint.stacks.azure.names import AzureNames

KEY_PURPOSES = ("data", "ml", "ops")
# Premium vaults keep keys in HSMs; RSA-HSM 3072 is accepted by every CMK consumer used here
# (storage, AKS disk encryption sets, ACR, Azure ML). Only wrap/unwrap: the keys wrap data keys.
KEY_TYPE, KEY_SIZE, KEY_OPS = "RSA-HSM", 3072, ["wrapKey", "unwrapKey"]
# A new key version every 90 days (as on GCP); versions expire after two years, 30 days' notice.
ROTATE_AFTER, EXPIRE_AFTER, NOTIFY_BEFORE = "P90D", "P2Y", "P30D"
SOFT_DELETE_DAYS = 90
LOG_RETENTION_DAYS = 90
VAULT_ZONE = "privatelink.vaultcore.azure.net"
# Custom NSG rules take priorities 100..4096; the deny sits at the bottom so later allows can precede it.
DENY_INTERNET_PRIORITY = 4096


def subnet_layout(cidr: str) -> dict[str, str]:
    """workloads: the first quarter of the VNet (a /18 of a /16: AKS nodes; pods use the CNI overlay,
    so nodes alone need addresses). endpoints: the first sixteenth of the second quarter (a /20 of a
    /16; at most a /28 for a /24 VNet) for private endpoints. The rest stays free for later subnets."""
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise ValueError(
            f"baseline.network.cidr {cidr!r} is not a network address ({exc}); use the network's first "
            "address, e.g. 10.40.0.0/16"
        ) from None
    if net.prefixlen > 24:
        raise ValueError(
            f"baseline.network.cidr {cidr!r} is smaller than a /24; Azure needs at least a /24 for the "
            "workload and private endpoint subnets"
        )
    quarters: list[Any] = list(net.subnets(prefixlen_diff=2))
    endpoints = next(quarters[1].subnets(new_prefix=min(net.prefixlen + 4, 28)))
    return {"workloads": str(quarters[0]), "endpoints": str(endpoints)}


@dataclass(frozen=True)
class BaselineProps:
    """naming: the environment's names. spec: network and budget (omitted: a 10.40.0.0/16 VNet, a 1000 USD
    monthly budget alerting at 80%). location: the Azure region. notify: budget recipients (e-mail).
    tags: put on the resource group (the stack's aspect tags every other resource).
    protect: prevent_destroy on the resource group, the Key Vault and the keys."""

    naming: AzureNames
    spec: Baseline
    location: str
    notify: tuple[str, ...]
    tags: dict[str, str]
    protect: bool
    # The resource id of the VNet the deploying runner runs in (`target.runner_network`); None: the runner
    # is inside the platform VNet already (which a first apply cannot be).
    runner_network: str | None = None
    # The azurerm provider of the runner VNet's subscription when it is not the target's (the stack makes
    # it); the peering from the runner's side is created there. None: the target's provider.
    runner_provider: Any = None


def vnet_parts(vnet_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of a virtual network's resource id."""
    parts = vnet_id.strip("/").split("/")
    return parts[1], parts[3], parts[7]


class AzureBaseline(Construct):
    """One resource group per environment holding:

    - a VNet with two subnets, `workloads` (AKS nodes) and `endpoints` (private endpoints), each with an
      NSG that denies all inbound traffic from the Internet and with default outbound access off (no
      implicit public IP: egress must be explicit, e.g. the AKS load balancer or a NAT gateway);
    - a premium Key Vault: RBAC authorization, purge protection, 90 days of soft delete, public network
      access off (network ACLs deny, trusted Azure services bypass), reached through a private endpoint;
    - one RSA-HSM 3072 key per purpose ("data", "ml", "ops") rotating every 90 days;
    - `encryption_identity`, the user-assigned identity services use for customer-managed keys, granted
      "Key Vault Crypto Service Encryption User" on the vault;
    - one user-assigned identity per persona with no role at all until a component grants one;
    - a Log Analytics workspace (local auth off) that every diagnostic setting sends to, and a monthly
      resource-group budget e-mailing `notify`.

    The deploying principal gets "Key Vault Crypto Officer" on the vault (RBAC vaults grant no data-plane
    access to anyone by default; Terraform must create the keys). With public network access off it must
    also reach the vault through the VNet. When `runner_network` names the runner's VNet, the platform
    VNet is peered with it (both directions) and every private DNS zone is linked to it, so the runner
    resolves and reaches the private endpoints this same apply creates; every data-plane resource waits
    for that path (`reach`).
    """

    def __init__(self, scope: Construct, id: str, *, props: BaselineProps):
        super().__init__(scope, id)
        n, spec = props.naming, props.spec
        self.naming = n
        self.location = props.location
        self.tags = dict(props.tags)
        self._protect = props.protect
        self._dns_zones: dict[str, PrivateDnsZone] = {}
        layout = subnet_layout(spec.network.cidr)

        self.client = DataAzurermClientConfig(self, "client")
        self.resource_group = ResourceGroup(
            self, "rg", name=n.resource_group, location=props.location, tags=self.tags, lifecycle=protect(props.protect)
        )
        rg = self.resource_group.name
        self.log_analytics = LogAnalyticsWorkspace(
            self,
            "log-analytics",
            name=n.log_analytics,
            location=props.location,
            resource_group_name=rg,
            sku="PerGB2018",
            retention_in_days=LOG_RETENTION_DAYS,
            local_authentication_enabled=False,
        )

        # Network: two subnets, Internet inbound denied on both, no default outbound access.
        self.vnet = VirtualNetwork(
            self,
            "vnet",
            name=n.vnet,
            location=props.location,
            resource_group_name=rg,
            address_space=[spec.network.cidr],
        )
        self.subnets: dict[str, Subnet] = {}
        self.nsgs: dict[str, NetworkSecurityGroup] = {}
        for key, prefix in layout.items():
            subnet = Subnet(
                self,
                f"subnet-{key}",
                name=f"snet-{key}",
                resource_group_name=rg,
                virtual_network_name=self.vnet.name,
                address_prefixes=[prefix],
                default_outbound_access_enabled=False,
                # NSGs and route tables apply to private endpoints too.
                private_endpoint_network_policies="Enabled" if key == "endpoints" else None,
            )
            nsg = NetworkSecurityGroup(
                self, f"nsg-{key}", name=n.dashed("nsg", key), location=props.location, resource_group_name=rg
            )
            NetworkSecurityRule(
                self,
                f"nsg-{key}-deny-internet",
                name="deny-internet-inbound",
                priority=DENY_INTERNET_PRIORITY,
                direction="Inbound",
                access="Deny",
                protocol="*",
                source_port_range="*",
                destination_port_range="*",
                source_address_prefix="Internet",
                destination_address_prefix="*",
                resource_group_name=rg,
                network_security_group_name=nsg.name,
            )
            SubnetNetworkSecurityGroupAssociation(
                self, f"subnet-{key}-nsg", subnet_id=subnet.id, network_security_group_id=nsg.id
            )
            self.diagnostics(self, f"nsg-{key}-diagnostics", nsg.id, metrics=False)  # NSGs emit logs only
            self.subnets[key], self.nsgs[key] = subnet, nsg
        self.diagnostics(self, "vnet-diagnostics", self.vnet.id)

        # The runner's network: peered both ways (traffic to the private endpoints) and, per private DNS
        # zone, linked (the names resolve to the endpoints' private addresses); see `reach`.
        self.runner_network = props.runner_network
        self.runner_peerings: list[VirtualNetworkPeering] = []
        self._runner_links: dict[str, PrivateDnsZoneVirtualNetworkLink] = {}
        if props.runner_network:
            _, runner_rg, runner_name = vnet_parts(props.runner_network)
            self.runner_peerings = [
                VirtualNetworkPeering(
                    self,
                    "peering-to-runner",
                    name=n.name("to-runner"),
                    resource_group_name=rg,
                    virtual_network_name=self.vnet.name,
                    remote_virtual_network_id=props.runner_network,
                    allow_virtual_network_access=True,
                    allow_forwarded_traffic=False,
                    allow_gateway_transit=False,
                ),
                VirtualNetworkPeering(
                    self,
                    "peering-from-runner",
                    name=n.name("platform"),
                    resource_group_name=runner_rg,
                    virtual_network_name=runner_name,
                    remote_virtual_network_id=self.vnet.id,
                    allow_virtual_network_access=True,
                    allow_forwarded_traffic=False,
                    use_remote_gateways=False,
                    provider=props.runner_provider,
                ),
            ]

        # Key Vault: RBAC, purge protection, private only.
        self.key_vault = KeyVault(
            self,
            "key-vault",
            name=n.key_vault,
            location=props.location,
            resource_group_name=rg,
            tenant_id=self.client.tenant_id,
            sku_name="premium",
            rbac_authorization_enabled=True,
            purge_protection_enabled=True,
            soft_delete_retention_days=SOFT_DELETE_DAYS,
            public_network_access_enabled=False,
            network_acls=KeyVaultNetworkAcls(default_action="Deny", bypass="AzureServices"),
            lifecycle=protect(props.protect),
        )
        self.key_vault_endpoint = self.private_endpoint(
            self, "key-vault-endpoint", resource_id=self.key_vault.id, subresource="vault", zone=VAULT_ZONE
        )
        self.diagnostics(self, "key-vault-diagnostics", self.key_vault.id)
        self.deployer_key_access = RoleAssignment(
            self,
            "deployer-key-officer",
            scope=self.key_vault.id,
            principal_id=self.client.object_id,
            role_definition_name="Key Vault Crypto Officer",
        )
        self.keys: dict[str, KeyVaultKey] = {
            purpose: KeyVaultKey(
                self,
                f"key-{purpose}",
                name=n.key(purpose),
                key_vault_id=self.key_vault.id,
                key_type=KEY_TYPE,
                key_size=KEY_SIZE,
                key_opts=list(KEY_OPS),
                rotation_policy=KeyVaultKeyRotationPolicy(
                    automatic=KeyVaultKeyRotationPolicyAutomatic(time_after_creation=ROTATE_AFTER),
                    expire_after=EXPIRE_AFTER,
                    notify_before_expiry=NOTIFY_BEFORE,
                ),
                depends_on=[self.deployer_key_access, self.key_vault_endpoint, *self.reach(VAULT_ZONE)],
                lifecycle=protect(props.protect),
            )
            for purpose in KEY_PURPOSES
        }

        # The identity services encrypt with (CMK); wait for `encryption_grant` before using it.
        self.encryption_identity = UserAssignedIdentity(
            self, "encryption-identity", name=n.identity("cmk"), location=props.location, resource_group_name=rg
        )
        self.encryption_grant = assign_role(
            self,
            "encryption-identity-crypto-user",
            on=self.key_vault.id,
            principal=self.encryption_identity,
            role="Key Vault Crypto Service Encryption User",
        )

        # Personas: identities the organisation's groups federate to. Components grant them access.
        self.personas: dict[str, UserAssignedIdentity] = {
            p: UserAssignedIdentity(
                self, f"persona-{p}", name=n.identity(p), location=props.location, resource_group_name=rg
            )
            for p in PERSONAS
        }

        budget = spec.budget
        first_of_month = Fn.formatdate("YYYY-MM-01'T'00:00:00Z", Fn.timestamp())
        self.budget = ConsumptionBudgetResourceGroup(
            self,
            "budget",
            name=n.name("monthly"),
            resource_group_id=self.resource_group.id,
            amount=budget.monthly_limit_usd,
            time_grain="Monthly",
            time_period=BudgetPeriod(start_date=first_of_month),
            notification=[
                BudgetNotification(
                    enabled=True,
                    threshold=budget.alert_at_percent,
                    operator="GreaterThanOrEqualTo",
                    threshold_type="Forecasted",
                    contact_emails=list(props.notify),
                ),
                BudgetNotification(
                    enabled=True,
                    threshold=100,
                    operator="GreaterThanOrEqualTo",
                    threshold_type="Actual",
                    contact_emails=list(props.notify),
                ),
            ],
            # Azure wants the start date in the current month at creation; it must not move afterwards.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["time_period"]),
        )

    def key_id(self, purpose: str) -> str:
        """The versionless id of `purpose`'s key: services follow its rotation automatically."""
        return self.keys[purpose].versionless_id

    def private_endpoint(
        self, scope: Construct, id: str, *, resource_id: str, subresource: str, zone: str
    ) -> PrivateEndpoint:
        """A private endpoint in `scope` on the `endpoints` subnet for `subresource` of `resource_id`,
        registered in private DNS zone `zone` (the zone and its VNet link are made once, here)."""
        if zone not in self._dns_zones:
            key = zone.replace(".", "-")
            dns = PrivateDnsZone(self, f"dns-{key}", name=zone, resource_group_name=self.resource_group.name)
            PrivateDnsZoneVirtualNetworkLink(
                self,
                f"dns-{key}-link",
                name=self.naming.name("vnet"),
                private_dns_zone_id=dns.id,
                virtual_network_id=self.vnet.id,
                registration_enabled=False,
            )
            self._dns_zones[zone] = dns
            if self.runner_network:
                self._runner_links[zone] = PrivateDnsZoneVirtualNetworkLink(
                    self,
                    f"dns-{key}-runner-link",
                    name=self.naming.name("runner"),
                    private_dns_zone_id=dns.id,
                    virtual_network_id=self.runner_network,
                    registration_enabled=False,
                )
        name = self.naming.dashed("pe", scope.node.id.replace("_", "-"), id)
        return PrivateEndpoint(
            scope,
            id,
            name=name,
            location=self.location,
            resource_group_name=self.resource_group.name,
            subnet_id=self.subnets["endpoints"].id,
            private_service_connection=PrivateEndpointPrivateServiceConnection(
                name=f"{name}-{subresource}",
                private_connection_resource_id=resource_id,
                subresource_names=[subresource],
                is_manual_connection=False,
            ),
            private_dns_zone_group=PrivateEndpointPrivateDnsZoneGroup(
                name="default", private_dns_zone_ids=[self._dns_zones[zone].id]
            ),
        )

    def reach(self, zone: str) -> list:
        """What a data-plane resource behind `zone`'s private endpoints must wait for so that the runner
        reaches it: the peerings and the zone's link to the runner's VNet (nothing without a runner
        network: the runner is then inside the platform VNet)."""
        if not self.runner_network:
            return []
        if zone not in self._runner_links:
            raise ValueError(f"no private endpoint uses the DNS zone {zone} yet; make the endpoint first")
        return [*self.runner_peerings, self._runner_links[zone]]

    @property
    def dns_zones(self) -> dict[str, PrivateDnsZone]:
        return dict(self._dns_zones)

    def diagnostics(
        self, scope: Construct, id: str, target_resource_id: str, *, logs: bool = True, metrics: bool = True
    ) -> MonitorDiagnosticSetting:
        """All logs (category group allLogs) and AllMetrics of `target_resource_id` to Log Analytics.
        Turn `logs` or `metrics` off for resources that have none (NSGs have no metrics; a storage
        account's own id has metrics only, its blob service has both)."""
        return MonitorDiagnosticSetting(
            scope,
            id,
            name="to-log-analytics",
            target_resource_id=target_resource_id,
            log_analytics_workspace_id=self.log_analytics.id,
            enabled_log=[MonitorDiagnosticSettingEnabledLog(category_group="allLogs")] if logs else None,
            enabled_metric=[MonitorDiagnosticSettingEnabledMetric(category="AllMetrics")] if metrics else None,
        )
