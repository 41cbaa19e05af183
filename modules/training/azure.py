"""GPU training pools on Azure: a private AKS cluster (Entra ID + Azure RBAC, no local accounts,
workload identity) with one autoscaled, tainted GPU node pool per blueprint pool.

Why AKS and not Azure ML compute clusters: taints keep CPU work off the GPUs (AML compute has no
taints or labels); training runs as the same Kubernetes Job model (and, later, Kueue) on every cloud,
so jobs, quotas and tooling do not fork per cloud; spot maps natively (`priority = Spot`, evicted
nodes deleted) and pools scale to zero through the cluster autoscaler.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import Fn, TerraformResourceLifecycle
from cdktn_provider_azurerm.disk_encryption_set import DiskEncryptionSet, DiskEncryptionSetIdentity
from cdktn_provider_azurerm.federated_identity_credential import FederatedIdentityCredential
from cdktn_provider_azurerm.kubernetes_cluster import (
    KubernetesCluster,
    KubernetesClusterDefaultNodePool,
    KubernetesClusterDefaultNodePoolUpgradeSettings,
    KubernetesClusterIdentity,
    KubernetesClusterKubeletIdentity,
    KubernetesClusterMonitorMetrics,
    KubernetesClusterNetworkProfile,
    KubernetesClusterNodeProvisioningProfile,
    KubernetesClusterOmsAgent,
)
from cdktn_provider_azurerm.kubernetes_cluster import (
    KubernetesClusterAzureActiveDirectoryRoleBasedAccessControl as EntraRbac,
)
from cdktn_provider_azurerm.kubernetes_cluster_node_pool import KubernetesClusterNodePool
from cdktn_provider_azurerm.monitor_data_collection_endpoint import MonitorDataCollectionEndpoint
from cdktn_provider_azurerm.monitor_data_collection_rule import (
    MonitorDataCollectionRule,
    MonitorDataCollectionRuleDataFlow,
    MonitorDataCollectionRuleDataSources,
    MonitorDataCollectionRuleDataSourcesPrometheusForwarder,
    MonitorDataCollectionRuleDestinations,
    MonitorDataCollectionRuleDestinationsMonitorAccount,
)
from cdktn_provider_azurerm.monitor_data_collection_rule_association import MonitorDataCollectionRuleAssociation
from cdktn_provider_azurerm.monitor_workspace import MonitorWorkspace
from cdktn_provider_azurerm.private_dns_zone_virtual_network_link import PrivateDnsZoneVirtualNetworkLink
from cdktn_provider_azurerm.role_assignment import RoleAssignment
from cdktn_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct

from mlops_blueprint.blueprints.model import Sharing, Training
from mlops_blueprint.modules.azure_common import Principal, assign_role, custom_role, protect
from mlops_blueprint.modules.baseline.azure import AzureBaseline
from mlops_blueprint.stacks.azure.catalog import CATALOG
from mlops_blueprint.stacks.azure.names import AzureNames

GPU_TAINT = "nvidia.com/gpu=present:NoSchedule"
POOL_LABEL, ACCELERATOR_LABEL = "mlops.io/pool", "mlops.io/accelerator"
TRAINING_NAMESPACE, TRAINER_SERVICE_ACCOUNT = "training", "trainer"
TRAINER_SUBJECT = f"system:serviceaccount:{TRAINING_NAMESPACE}:{TRAINER_SERVICE_ACCOUNT}"
TOKEN_AUDIENCE = "api://AzureADTokenExchange"
SYSTEM_VM_SIZE = "Standard_D4ds_v5"
# The CNI overlay gives pods addresses outside the VNet; services get their own range. Neither may
# overlap the VNet (10.x by default) nor each other.
POD_CIDR, SERVICE_CIDR, DNS_SERVICE_IP = "192.168.0.0/16", "172.16.0.0/16", "172.16.0.10"
# What the cluster's control-plane identity needs on the node subnet to place nodes and load balancers
# in it: join and read, nothing else (the built-in "Network Contributor" is far wider).
SUBNET_JOIN_ACTIONS = (
    "Microsoft.Network/virtualNetworks/subnets/join/action",
    "Microsoft.Network/virtualNetworks/subnets/read",
)
PROMETHEUS_STREAM = "Microsoft-PrometheusMetrics"
# What the cluster stack does through the Kubernetes API (CRDs, cluster-scoped Kueue objects, webhooks,
# namespaces, Helm releases): with Azure RBAC for Kubernetes on and local accounts off, Owner and
# Contributor carry no Kubernetes data actions, so the deploying principal gets this role on the cluster.
DEPLOYER_ROLE = "Azure Kubernetes Service RBAC Cluster Admin"


@dataclass(frozen=True)
class TrainingProps:
    """spec: pools in neutral terms (omitted per pool: min_nodes 0, gpus_per_node 1, spot off, disk 200 GB;
    omitted kubernetes_version: the model's default). baseline: network, keys, Log Analytics. protect: prevent_destroy on
    the cluster, the disk encryption set and the Azure Monitor workspace."""

    naming: AzureNames
    spec: Training
    baseline: AzureBaseline
    protect: bool
    # Entra ID groups whose members are cluster admins (`target.admin_group_object_ids`); omitted: none.
    admin_groups: tuple[str, ...] = ()


def mig_instance(sharing: Sharing) -> dict:
    """AKS partitions a whole node pool's GPUs with MIG (`gpu_instance`: MIG1g..MIG7g), by the profile's
    compute slices; time-slicing is refused at `validate` (AKS has no native time-slicing)."""
    if sharing.mode == "mig" and sharing.profile:
        return {"gpu_instance": f"MIG{sharing.profile.split('g.')[0]}g"}
    return {}


def vm_size_for(name: str, accelerator: str, gpus: int) -> str:
    """The Azure VM size for `gpus` x `accelerator` per node, or ValueError naming the pool."""
    size = CATALOG.training_instance(accelerator, gpus)
    if size is None:  # the validator refuses this first; a construct must not trust its caller
        offered = CATALOG.training.get(accelerator)
        allowed = (
            f"{accelerator} comes with {', '.join(str(g) for g in sorted(offered))} GPUs per node on Azure"
            if offered
            else f"Azure offers {', '.join(sorted(CATALOG.training))}"
        )
        raise ValueError(
            f"training pool {name!r}: {accelerator} x{gpus} has no Azure VM size ({allowed}); "
            "change the pool's accelerator or gpus_per_node"
        )
    return size


class AzureTraining(Construct):
    """A private AKS cluster for training jobs.

    - Control plane: private cluster (no public FQDN), Entra ID authentication with Azure RBAC for
      Kubernetes authorization, local accounts disabled, OIDC issuer + workload identity, Standard tier,
      automatic patch upgrades, Azure Policy add-on, image cleaner.
    - Network: Azure CNI overlay with Cilium (data plane and network policy) on the baseline's
      `workloads` subnet; outbound through the cluster's load balancer (the subnet has no default
      outbound access).
    - Identities: `control_plane` (cluster identity, may operate `kubelet` and join the subnet only) and
      `kubelet` (node identity; the composition grants it AcrPull). No service principal, no secrets.
    - Disks: OS disks encrypted with the baseline's "ml" key through a disk encryption set (auto key
      rotation) that uses the baseline's encryption identity.
      Encryption at host on every pool: temp disks and OS/data disk caches are encrypted on the VM host
      and data flows to storage encrypted (the subscription needs the EncryptionAtHost feature).
    - Telemetry: Container Insights (oms_agent, managed identity auth) to the baseline's Log Analytics
      and managed Prometheus (monitor_metrics) into an Azure Monitor workspace `prometheus` through a
      data collection endpoint + rule. kube-state-metrics exports the pool label (`labels_allowed`), so
      GPU alerts can filter on `label_mlops_io_pool`.
    - System pool: Standard_D4ds_v5, 1-3 nodes, only critical add-ons.
    - One GPU pool per blueprint pool: the catalog's VM size, taint `nvidia.com/gpu=present:NoSchedule`,
      labels `mlops.io/pool` and `mlops.io/accelerator`, cluster autoscaler min..max, spot (priority Spot,
      eviction Delete, max price = on-demand) when asked.
    - `trainer`: the workload identity training pods use (service account `training/trainer`).

    GPU telemetry: AKS installs the NVIDIA driver on GPU pools but not the DCGM exporter; the cluster
    stack (modules/cluster/azure.py) installs the NVIDIA DCGM exporter with a PodMonitor that managed Prometheus
    scrapes, relabelling `__meta_kubernetes_pod_node_name` to `node`. Monitoring alerts read
    `DCGM_FI_DEV_GPU_UTIL` joined on `node` with `kube_node_labels`.
    """

    def __init__(self, scope: Construct, id: str, *, props: TrainingProps):
        super().__init__(scope, id)
        n, b, spec = props.naming, props.baseline, props.spec
        sizes = {name: vm_size_for(name, pool.accelerator, pool.gpus_per_node) for name, pool in spec.pools.items()}
        pool_names = {name: n.node_pool(name) for name in spec.pools}
        rg, location = b.resource_group.name, b.location
        self._baseline = b

        self.control_plane = UserAssignedIdentity(
            self, "control-plane-identity", name=n.identity("aks"), location=location, resource_group_name=rg
        )
        self.kubelet = UserAssignedIdentity(
            self, "kubelet-identity", name=n.identity("aks-kubelet"), location=location, resource_group_name=rg
        )
        self.trainer = UserAssignedIdentity(
            self, "trainer-identity", name=n.identity("trainer"), location=location, resource_group_name=rg
        )
        # A user-assigned kubelet identity requires the cluster identity to operate it.
        operate_kubelet = assign_role(
            self,
            "control-plane-operates-kubelet",
            on=self.kubelet.id,
            principal=self.control_plane,
            role="Managed Identity Operator",
        )
        workloads = b.subnets["workloads"]
        subnet_joiner = custom_role(
            self,
            "subnet-joiner-role",
            name=n.name("aks-subnet-joiner"),
            resource_group_id=b.resource_group.id,
            actions=SUBNET_JOIN_ACTIONS,
            description="Join and read the AKS node subnet (the cluster identity's only network right)",
        )
        join_subnet = assign_role(
            self, "control-plane-joins-subnet", on=workloads.id, principal=self.control_plane, role=subnet_joiner.name
        )

        self.disk_encryption = DiskEncryptionSet(
            self,
            "disk-encryption",
            name=n.dashed("des", "aks"),
            location=location,
            resource_group_name=rg,
            key_vault_key_id=b.key_id("ml"),
            auto_key_rotation_enabled=True,
            encryption_type="EncryptionAtRestWithCustomerKey",
            identity=DiskEncryptionSetIdentity(type="UserAssigned", identity_ids=[b.encryption_identity.id]),
            lifecycle=protect(props.protect),
            depends_on=[b.encryption_grant],
        )
        # The cluster identity reads the disk encryption set to attach it to node OS disks.
        read_des = assign_role(
            self,
            "control-plane-reads-disk-encryption",
            on=self.disk_encryption.id,
            principal=self.control_plane,
            role="Reader",
        )

        self.cluster = KubernetesCluster(
            self,
            "cluster",
            name=n.cluster,
            location=location,
            resource_group_name=rg,
            # `dns_prefix_private_cluster` is only for a custom private DNS zone; with the "System" zone the
            # provider refuses it before calling Azure (kubernetes_cluster_resource.go).
            dns_prefix=n.cluster,
            node_resource_group=n.dashed("rg", "aks-nodes", limit=80),
            kubernetes_version=spec.kubernetes_version,
            # Long-term support (blueprint `kubernetes_support: extended`) needs the Premium tier.
            sku_tier="Premium" if spec.kubernetes_support == "extended" else "Standard",
            support_plan="AKSLongTermSupport" if spec.kubernetes_support == "extended" else "KubernetesOfficial",
            automatic_upgrade_channel="patch",
            node_os_upgrade_channel="NodeImage",
            private_cluster_enabled=True,
            private_cluster_public_fqdn_enabled=False,
            private_dns_zone_id="System",
            local_account_disabled=True,
            role_based_access_control_enabled=True,
            azure_active_directory_role_based_access_control=EntraRbac(
                azure_rbac_enabled=True,
                tenant_id=b.client.tenant_id,
                admin_group_object_ids=list(props.admin_groups) or None,
            ),
            oidc_issuer_enabled=True,
            workload_identity_enabled=True,
            identity=KubernetesClusterIdentity(type="UserAssigned", identity_ids=[self.control_plane.id]),
            kubelet_identity=KubernetesClusterKubeletIdentity(
                client_id=self.kubelet.client_id,
                object_id=self.kubelet.principal_id,
                user_assigned_identity_id=self.kubelet.id,
            ),
            disk_encryption_set_id=self.disk_encryption.id,
            network_profile=KubernetesClusterNetworkProfile(
                network_plugin="azure",
                network_plugin_mode="overlay",
                network_data_plane="cilium",
                network_policy="cilium",
                pod_cidr=POD_CIDR,
                service_cidr=SERVICE_CIDR,
                dns_service_ip=DNS_SERVICE_IP,
                load_balancer_sku="standard",
                outbound_type="loadBalancer",
            ),
            default_node_pool=KubernetesClusterDefaultNodePool(
                name="system",
                vm_size=SYSTEM_VM_SIZE,
                auto_scaling_enabled=True,
                min_count=1,
                max_count=3,
                only_critical_addons_enabled=True,
                vnet_subnet_id=workloads.id,
                os_disk_type="Managed",
                host_encryption_enabled=True,
                temporary_name_for_rotation="systemtmp",
                upgrade_settings=KubernetesClusterDefaultNodePoolUpgradeSettings(max_surge="10%"),
            ),
            # Explicit node pools with the cluster autoscaler (no node auto-provisioning).
            node_provisioning_profile=KubernetesClusterNodeProvisioningProfile(mode="Manual"),
            oms_agent=KubernetesClusterOmsAgent(
                log_analytics_workspace_id=b.log_analytics.id, msi_auth_for_monitoring_enabled=True
            ),
            monitor_metrics=KubernetesClusterMonitorMetrics(labels_allowed=f"nodes=[{POOL_LABEL},{ACCELERATOR_LABEL}]"),
            azure_policy_enabled=True,
            image_cleaner_enabled=True,
            image_cleaner_interval_hours=48,
            depends_on=[operate_kubelet, join_subnet, read_des],
            lifecycle=TerraformResourceLifecycle(
                prevent_destroy=props.protect, ignore_changes=["default_node_pool[0].node_count"]
            ),
        )
        b.diagnostics(self, "cluster-diagnostics", self.cluster.id)
        # The deploying principal applies the cluster stack (Azure RBAC decides every Kubernetes call).
        self.deployer_access = RoleAssignment(
            self,
            "deployer-cluster-admin",
            scope=self.cluster.id,
            principal_id=b.client.object_id,
            role_definition_name=DEPLOYER_ROLE,
        )
        # The API server's private FQDN lives in the private DNS zone AKS makes ("System", in the node
        # resource group, linked to the platform VNet only); the runner's VNet gets a link too, so the
        # cluster stack's runner resolves the API server (reached through the baseline's peering).
        self.runner_link: PrivateDnsZoneVirtualNetworkLink | None = None
        if b.runner_network:
            self.runner_link = PrivateDnsZoneVirtualNetworkLink(
                self,
                "api-dns-runner-link",
                name=n.name("runner"),
                private_dns_zone_id=(
                    f"/subscriptions/{b.client.subscription_id}/resourceGroups/{self.cluster.node_resource_group}"
                    "/providers/Microsoft.Network/privateDnsZones/"
                    + Fn.replace(self.cluster.private_fqdn, "/^[^.]+[.]/", "")
                ),
                virtual_network_id=b.runner_network,
                registration_enabled=False,
                depends_on=b.runner_peerings,
            )

        self.node_pools: dict[str, KubernetesClusterNodePool] = {}
        for name, pool in spec.pools.items():
            spot = (
                {"priority": "Spot", "eviction_policy": "Delete", "spot_max_price": -1}
                if pool.spot
                else {"priority": "Regular"}
            )
            self.node_pools[name] = KubernetesClusterNodePool(
                self,
                f"pool-{name}",
                name=pool_names[name],
                kubernetes_cluster_id=self.cluster.id,
                mode="User",
                vm_size=sizes[name],
                vnet_subnet_id=workloads.id,
                os_disk_size_gb=pool.disk_gb,
                auto_scaling_enabled=True,
                min_count=pool.min_nodes,
                max_count=pool.max_nodes,
                host_encryption_enabled=True,
                **mig_instance(pool.sharing),
                # AKS installs the NVIDIA driver (said explicitly: "None" would leave it to a GPU operator);
                # the device plugin comes from the cluster stack (modules/cluster/azure.py).
                gpu_driver="Install",
                node_taints=[GPU_TAINT],
                node_labels={POOL_LABEL: name, ACCELERATOR_LABEL: pool.accelerator},
                **spot,
                # The cluster autoscaler owns the node count.
                lifecycle=TerraformResourceLifecycle(ignore_changes=["node_count"]),
            )

        # Training pods federate `training/trainer` to this identity (no secrets in the cluster).
        self.trainer_federation = FederatedIdentityCredential(
            self,
            "trainer-federation",
            name=n.name("trainer"),
            user_assigned_identity_id=self.trainer.id,
            issuer=self.cluster.oidc_issuer_url,
            subject=TRAINER_SUBJECT,
            audience=[TOKEN_AUDIENCE],
        )

        # Managed Prometheus: the cluster's metrics add-on writes into this Azure Monitor workspace.
        self.prometheus = MonitorWorkspace(
            self,
            "prometheus",
            name=n.dashed("amw"),
            location=location,
            resource_group_name=rg,
            lifecycle=protect(props.protect),
        )
        dce = MonitorDataCollectionEndpoint(
            self,
            "prometheus-endpoint",
            name=n.dashed("dce", "prometheus"),
            location=location,
            resource_group_name=rg,
            kind="Linux",
        )
        dcr = MonitorDataCollectionRule(
            self,
            "prometheus-rule",
            name=n.dashed("dcr", "prometheus"),
            location=location,
            resource_group_name=rg,
            kind="Linux",
            data_collection_endpoint_id=dce.id,
            destinations=MonitorDataCollectionRuleDestinations(
                monitor_account=[
                    MonitorDataCollectionRuleDestinationsMonitorAccount(
                        name="prometheus", monitor_account_id=self.prometheus.id
                    )
                ]
            ),
            data_sources=MonitorDataCollectionRuleDataSources(
                prometheus_forwarder=[
                    MonitorDataCollectionRuleDataSourcesPrometheusForwarder(
                        name="prometheus", streams=[PROMETHEUS_STREAM]
                    )
                ]
            ),
            data_flow=[MonitorDataCollectionRuleDataFlow(streams=[PROMETHEUS_STREAM], destinations=["prometheus"])],
        )
        MonitorDataCollectionRuleAssociation(
            self,
            "prometheus-rule-association",
            name=n.name("prometheus"),
            target_resource_id=self.cluster.id,
            data_collection_rule_id=dcr.id,
        )
        MonitorDataCollectionRuleAssociation(
            self,
            "prometheus-endpoint-association",
            name="configurationAccessEndpoint",
            target_resource_id=self.cluster.id,
            data_collection_endpoint_id=dce.id,
        )

    @property
    def namespace(self) -> str:
        return TRAINING_NAMESPACE

    def grant_submit(self, principal: Principal, *, id: str) -> None:
        """Let a persona get cluster credentials ("Azure Kubernetes Service Cluster User Role" on the
        cluster) and create jobs in the training namespace only ("Azure Kubernetes Service RBAC Writer"
        scoped to `<cluster>/namespaces/training`)."""
        assign_role(
            self,
            f"{id}-cluster-user",
            on=self.cluster.id,
            principal=principal,
            role="Azure Kubernetes Service Cluster User Role",
        )
        assign_role(
            self,
            f"{id}-namespace-writer",
            on=f"{self.cluster.id}/namespaces/{TRAINING_NAMESPACE}",
            principal=principal,
            role="Azure Kubernetes Service RBAC Writer",
        )
