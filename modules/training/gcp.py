"""GPU training pools on GCP: a private GKE cluster with Workload Identity, one autoscaled accelerator
node pool per blueprint pool, and an untainted `system` node pool for what every cluster runs (kube-dns,
metrics-server, the Kueue controller)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import Fn, TerraformResourceLifecycle, Token
from cdktn_provider_google.artifact_registry_repository import ArtifactRegistryRepository
from cdktn_provider_google.artifact_registry_repository_iam_member import ArtifactRegistryRepositoryIamMember
from cdktn_provider_google.compute_firewall import ComputeFirewall, ComputeFirewallAllow
from cdktn_provider_google.container_cluster import (
    ContainerCluster,
)
from cdktn_provider_google.container_cluster import (
    ContainerClusterMasterAuthorizedNetworksConfigCidrBlocks as CidrBlock,
)
from cdktn_provider_google.container_node_pool import (
    ContainerNodePool,
    ContainerNodePoolNodeConfig,
)
from cdktn_provider_google.container_node_pool import (
    ContainerNodePoolNodeConfigGuestAccelerator as GuestAccelerator,
)
from cdktn_provider_google.container_node_pool import (
    ContainerNodePoolNodeConfigTaint as Taint,
)
from cdktn_provider_google.data_google_client_openid_userinfo import DataGoogleClientOpenidUserinfo
from cdktn_provider_google.project_iam_member import ProjectIamMember
from cdktn_provider_google.service_account import ServiceAccount
from cdktn_provider_google.service_account_iam_member import ServiceAccountIamMember
from constructs import Construct

from mlops_blueprint.blueprints.model import Sharing, Training
from mlops_blueprint.blueprints.neutral import device_resource
from mlops_blueprint.modules.baseline.gcp import GKE_MASTER_RANGE, GcpBaseline
from mlops_blueprint.modules.k8s_common import CHARTS, K8S_REGISTRY
from mlops_blueprint.stacks.gcp.catalog import CATALOG, tpu_zones
from mlops_blueprint.stacks.gcp.names import SYSTEM_POOL, GcpNames

# Accelerator nodes are tainted `<device resource>=present:NoSchedule` (nvidia.com/gpu, google.com/tpu):
# the key is the resource the pods request, so the Kueue flavor's toleration (k8s_common) matches it.
TAINT_VALUE, TAINT_EFFECT = "present", "NO_SCHEDULE"
# The system pool: the cluster's only untainted nodes. e2-standard-4 (4 vCPU, 16 GB): the cheapest current
# general-purpose machine offered in every region of the catalog, with Shielded VM and CMEK boot disks;
# GKE's own system pods plus the Kueue controller need about 1-2 vCPU. 1 node at least (kube-dns must
# always have a node), 3 at most; the price file counts its fixed cost (blueprints/prices.json).
SYSTEM_MACHINE, SYSTEM_MIN_NODES, SYSTEM_MAX_NODES, SYSTEM_DISK_GB = "e2-standard-4", 1, 3, 50
NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
)
TRAINING_NAMESPACE, TRAINER_KSA = "mlops-training", "trainer"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
# The charts the GCP cluster stack installs (stacks/gcp/cluster.py: the cluster layer's Kueue). The API
# server calls their webhooks and API services on the nodes; GKE's own firewall rule lets the private
# control plane reach nodes on tcp 443 and 10250 only, so each chart's `webhook_ports` are opened here.
CLUSTER_CHARTS = ("kueue",)
# What the cluster stack does through the Kubernetes API (CRDs, cluster-scoped Kueue objects, webhooks,
# Roles and RoleBindings): Kubernetes Engine Admin, GKE's cluster-admin, for the deploying identity.
DEPLOYER_ROLE = "roles/container.admin"


def webhook_ports(charts: tuple[str, ...] = CLUSTER_CHARTS) -> list[int]:
    """The ports the control plane must reach on the nodes for `charts`' webhooks and API services."""
    return sorted({port for chart in charts for port in CHARTS[chart].webhook_ports})


@dataclass(frozen=True)
class TrainingProps:
    """spec: pools in neutral terms (omitted min_nodes: 0, spot: off, disk: 200 GB). cidr: the network's,
    which may reach the control plane, as may `operator_cidrs` and no other range."""

    naming: GcpNames
    spec: Training
    baseline: GcpBaseline
    cidr: str
    protect: bool
    # Networks outside the platform's that reach the control plane too (`baseline.network.operator_cidrs`).
    operator_cidrs: tuple[str, ...] = ()


def gpu_sharing(sharing: Sharing) -> dict:
    """GKE's own GPU sharing: time-sharing (`max_shared_clients_per_gpu`) or a MIG partition size."""
    if sharing.mode == "time-slicing":
        return {
            "gpu_sharing_config": {
                "gpu_sharing_strategy": "TIME_SHARING",
                "max_shared_clients_per_gpu": sharing.replicas,
            }
        }
    if sharing.mode == "mig":
        return {"gpu_partition_size": sharing.profile}
    return {}


def machine_for(name: str, accelerator: str, count: int) -> tuple[str, str | None]:
    machine = CATALOG.training_instance(accelerator, count)
    if machine is None:  # the validator refuses this first; a construct must not trust its caller
        raise ValueError(f"pool {name!r}: {accelerator} x{count} has no GCP machine type")
    return machine, CATALOG.accelerator_types[accelerator]


class GcpTraining(Construct):
    """Nodes have no public IPs, the control plane only a private endpoint reachable from the platform
    network; nodes run as a dedicated service account with GKE metadata (Workload Identity), shielded
    boot and CMEK boot disks. Training jobs run as the `trainer` service account through the
    `mlops-training/trainer` Kubernetes service account.

    Node pools: `system` (untainted, SYSTEM_MACHINE, 1..3 nodes: kube-dns, metrics-server, Kueue), and per
    blueprint pool one pool tainted with its accelerator's resource, scaling from `min_nodes`. A TPU pool's
    nodes go to the zones of the region that offer the TPU (catalog `TPU_ZONES`); GPU pools use the
    network's zones."""

    def __init__(self, scope: Construct, id: str, *, props: TrainingProps):
        super().__init__(scope, id)
        n, b = props.naming, props.baseline
        self.cluster_name = n.gke("training")
        self.nodes = ServiceAccount(
            self, "nodes", account_id=n.service_account("gke-nodes"), display_name=f"GKE nodes of {n.prefix}"
        )
        for role in NODE_ROLES:
            ProjectIamMember(
                self, f"nodes-{role.split('/')[1]}", project=b.project, role=role, member=self.nodes.member
            )
        # The nodes reach Google APIs only (Private Google Access, no NAT): registry.k8s.io images (Kueue's)
        # come through an Artifact Registry remote repository, which fetches upstream itself and is
        # reached at <region>-docker.pkg.dev through the private pkg.dev zone.
        self.k8s_mirror = ArtifactRegistryRepository(
            self,
            "k8s-mirror",
            repository_id=n.k8s_mirror,
            location=b.region,
            format="DOCKER",
            mode="REMOTE_REPOSITORY",
            description=f"{K8S_REGISTRY}, for the cluster's nodes",
            kms_key_name=b.key("ml"),
            remote_repository_config={
                "description": K8S_REGISTRY,
                "docker_repository": {"custom_repository": {"uri": f"https://{K8S_REGISTRY}"}},
            },
            depends_on=b.with_key("ml"),
        )
        ArtifactRegistryRepositoryIamMember(
            self,
            "nodes-k8s-mirror",
            project=b.project,
            location=b.region,
            repository=self.k8s_mirror.name,
            role="roles/artifactregistry.reader",
            member=self.nodes.member,
        )
        node_security = {
            "workload_metadata_config": {"mode": "GKE_METADATA"},
            "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
            "metadata": {"disable-legacy-endpoints": "true"},
        }
        self.cluster = ContainerCluster(
            self,
            "cluster",
            name=self.cluster_name,
            location=b.region,
            node_locations=b.zones,
            network=b.network.id,
            subnetwork=b.subnet.id,
            networking_mode="VPC_NATIVE",
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config={"service_account": self.nodes.email, "oauth_scopes": SCOPES, **node_security},
            ip_allocation_policy={"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": True,
                "master_ipv4_cidr_block": GKE_MASTER_RANGE,
            },
            master_authorized_networks_config={
                "cidr_blocks": [
                    CidrBlock(cidr_block=props.cidr, display_name="platform network"),
                    *(CidrBlock(cidr_block=c, display_name=f"operator network {c}") for c in props.operator_cidrs),
                ]
            },
            master_auth={"client_certificate_config": {"issue_client_certificate": False}},
            workload_identity_config={"workload_pool": f"{b.project}.svc.id.goog"},
            database_encryption={"state": "ENCRYPTED", "key_name": b.key("ml")},
            # Regular: GKE upgrades the control plane at the end of standard support; Extended keeps the
            # version for a fee (blueprint `kubernetes_support: extended`).
            release_channel={"channel": "EXTENDED" if props.spec.kubernetes_support == "extended" else "REGULAR"},
            min_master_version=props.spec.kubernetes_version,
            datapath_provider="ADVANCED_DATAPATH",
            enable_shielded_nodes=True,
            enable_legacy_abac=False,
            enable_intranode_visibility=True,
            binary_authorization={"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"},
            logging_config={"enable_components": ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"]},
            # DCGM: GKE's managed DCGM metrics (DCGM_FI_*, NVIDIA GPUs) into Managed Prometheus, for the pool
            # dashboards; on by default for new clusters from 1.32.1-gke.1357000, explicit here so it stays on.
            monitoring_config={
                "enable_components": ["SYSTEM_COMPONENTS", "DCGM"],
                "managed_prometheus": {"enabled": True},
            },
            resource_labels={"mlops-component": "training"},
            deletion_protection=props.protect,
            depends_on=b.with_key("ml"),
            lifecycle=TerraformResourceLifecycle(ignore_changes=["node_config"]),
        )
        # The control plane calls admission webhooks and API services on the nodes (pods share the nodes'
        # firewall): open their ports from the master range, to the nodes' service account only.
        ports = webhook_ports()
        self.webhook_firewall = ComputeFirewall(
            self,
            "webhooks-from-control-plane",
            name=n.gcp_id("allow-webhooks", what="firewall"),
            network=b.network.id,
            direction="INGRESS",
            priority=1000,
            source_ranges=[GKE_MASTER_RANGE],
            target_service_accounts=[self.nodes.email],
            allow=[ComputeFirewallAllow(protocol="tcp", ports=[str(p) for p in ports])],
            description=f"GKE control plane to the webhooks and API services of {', '.join(CLUSTER_CHARTS)}",
        )
        # The deploying identity applies the cluster stack: GKE's cluster-admin for it (a service account
        # or a person, told apart by the e-mail's domain).
        deployer = DataGoogleClientOpenidUserinfo(self, "deployer")
        kind = Token.as_string(
            Fn.conditional(Fn.endswith(deployer.email, ".gserviceaccount.com"), "serviceAccount", "user")
        )
        self.deployer_access = ProjectIamMember(
            self,
            "deployer-cluster-admin",
            project=b.project,
            role=DEPLOYER_ROLE,
            member=f"{kind}:{deployer.email}",
        )
        # Without an untainted pool nothing that tolerates no taint (kube-dns, metrics-server, the Kueue
        # controller) ever gets a node: the accelerator pools are tainted and start at zero.
        self.system_pool = ContainerNodePool(
            self,
            "system-pool",
            name=n.gke(SYSTEM_POOL),
            cluster=self.cluster.id,
            location=b.region,
            node_locations=b.zones,
            initial_node_count=1,
            autoscaling={
                "total_min_node_count": SYSTEM_MIN_NODES,
                "total_max_node_count": SYSTEM_MAX_NODES,
                "location_policy": "BALANCED",
            },
            management={"auto_repair": True, "auto_upgrade": True},
            node_config=ContainerNodePoolNodeConfig(
                machine_type=SYSTEM_MACHINE,
                disk_size_gb=SYSTEM_DISK_GB,
                disk_type="pd-balanced",
                boot_disk_kms_key=b.key("ml"),
                service_account=self.nodes.email,
                oauth_scopes=SCOPES,
                labels={"mlops.io/plane": "system"},
                **node_security,
            ),
            lifecycle=TerraformResourceLifecycle(ignore_changes=["initial_node_count"]),
        )
        self.node_pools: dict[str, ContainerNodePool] = {}
        for name, pool in props.spec.pools.items():
            machine, accel_type = machine_for(name, pool.accelerator, pool.gpus_per_node)
            zones = tpu_zones(pool.accelerator, b.region)
            if zones == ():  # the validator refuses this first (accelerator_regions)
                raise ValueError(f"pool {name!r}: {pool.accelerator} is offered in no zone of {b.region}")
            accelerators = (
                [
                    GuestAccelerator(
                        type=accel_type,
                        count=pool.gpus_per_node,
                        gpu_driver_installation_config={"gpu_driver_version": "LATEST"},
                        **gpu_sharing(pool.sharing),
                    )
                ]
                if accel_type
                else None
            )
            self.node_pools[name] = ContainerNodePool(
                self,
                f"pool-{name}",
                name=n.gke_pool(name),
                cluster=self.cluster.id,
                location=b.region,
                node_locations=list(zones) if zones else b.zones,
                initial_node_count=0 if pool.min_nodes == 0 else 1,
                autoscaling={
                    "total_min_node_count": pool.min_nodes,
                    "total_max_node_count": pool.max_nodes,
                    "location_policy": "ANY",
                },
                management={"auto_repair": True, "auto_upgrade": True},
                node_config=ContainerNodePoolNodeConfig(
                    machine_type=machine,
                    spot=pool.spot,
                    disk_size_gb=pool.disk_gb,
                    disk_type="pd-balanced",
                    boot_disk_kms_key=b.key("ml"),
                    service_account=self.nodes.email,
                    oauth_scopes=SCOPES,
                    labels={"mlops.io/pool": name, "mlops.io/accelerator": pool.accelerator},
                    taint=[Taint(key=device_resource(pool.accelerator), value=TAINT_VALUE, effect=TAINT_EFFECT)],
                    guest_accelerator=accelerators,
                    **node_security,
                ),
                lifecycle=TerraformResourceLifecycle(ignore_changes=["initial_node_count"]),
            )
        self.trainer = ServiceAccount(
            self, "trainer", account_id=n.service_account("trainer"), display_name=f"training jobs of {n.prefix}"
        )
        ServiceAccountIamMember(
            self,
            "trainer-workload-identity",
            service_account_id=self.trainer.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{b.project}.svc.id.goog[{TRAINING_NAMESPACE}/{TRAINER_KSA}]",
            depends_on=[self.cluster],
        )
        self._project = b.project

    def grant_submit(self, principal: ServiceAccount, *, id: str) -> None:
        """Let a persona find the cluster and get credentials for it (RBAC inside grants the rest)."""
        member = principal.member
        ProjectIamMember(self, id, project=self._project, role="roles/container.clusterViewer", member=member)
