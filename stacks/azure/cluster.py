"""The Azure cluster stack `<blueprint>-<env>-cluster`: what needs the Kubernetes API of the AKS cluster
the cloud stack made. Applied after the cloud stack (from inside the platform network: the cluster is
private), destroyed before it; its own state beside the cloud stack's. The kubernetes and helm providers
find the cluster by name (`azurerm_kubernetes_cluster`: host and CA) and authenticate through Entra ID
with kubelogin (local accounts are disabled, so there is no client certificate to read).

Personas: Azure RBAC for Kubernetes, granted in the cloud stack (`AzureTraining.grant_submit`: "Azure
Kubernetes Service Cluster User Role" on the cluster, "Azure Kubernetes Service RBAC Writer" scoped to
`<cluster>/namespaces/training`); no Kubernetes RoleBinding is needed or made here.
"""

from __future__ import annotations

from cdktn import Fn, TerraformOutput, TerraformStack
from cdktn_provider_azurerm.data_azurerm_kubernetes_cluster import DataAzurermKubernetesCluster
from cdktn_provider_azurerm.data_azurerm_user_assigned_identity import DataAzurermUserAssignedIdentity
from cdktn_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktn_provider_helm.provider import HelmProvider, HelmProviderKubernetes, HelmProviderKubernetesExec
from cdktn_provider_kubernetes.provider import KubernetesProvider, KubernetesProviderExec
from constructs import Construct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.modules.cluster import ClusterLayer, ClusterLayerProps, cluster_labels
from mlops_blueprint.modules.cluster.azure import AzureDevicePlugin
from mlops_blueprint.modules.training.azure import TRAINING_NAMESPACE
from mlops_blueprint.stacks.azure.names import AzureNames
from mlops_blueprint.stacks.azure.stack import state_backend
from mlops_blueprint.stacks.settings import DeploySettings

# The AKS AAD server application every Entra-enabled cluster accepts tokens for (Microsoft's fixed id).
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


class AzureClusterStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, env: ResolvedEnv, settings: DeploySettings):
        super().__init__(scope, id)
        bp = env.blueprint
        training = bp.components.training
        if training is None or bp.target.subscription_id is None:  # stacks.build and the validator refuse these
            raise ValueError("the Azure cluster stack needs components.training and target.subscription_id")
        n = AzureNames(bp.metadata.name, env.name)
        AzurermProvider(
            self,
            "azurerm",
            features=[AzurermProviderFeatures()],
            subscription_id=bp.target.subscription_id,
            storage_use_azuread=True,
        )
        state_backend(self, env, key=f"{bp.metadata.name}/{env.name}/cluster.tfstate")
        cluster = DataAzurermKubernetesCluster(self, "cluster", name=n.cluster, resource_group_name=n.resource_group)
        trainer = DataAzurermUserAssignedIdentity(
            self, "trainer", name=n.identity("trainer"), resource_group_name=n.resource_group
        )
        kube = cluster.kube_config.get(0)
        api, command = "client.authentication.k8s.io/v1beta1", "kubelogin"
        args = ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_APP_ID]
        host, ca = kube.host, Fn.base64decode(kube.cluster_ca_certificate)
        KubernetesProvider(
            self,
            "kubernetes",
            host=host,
            cluster_ca_certificate=ca,
            exec=[KubernetesProviderExec(api_version=api, command=command, args=args)],
        )
        HelmProvider(
            self,
            "helm",
            kubernetes=HelmProviderKubernetes(
                host=host,
                cluster_ca_certificate=ca,
                exec=HelmProviderKubernetesExec(api_version=api, command=command, args=args),
            ),
        )

        md = bp.metadata
        labels = cluster_labels(md.name, env.name, md.owner, md.cost_center, md.data_classification)
        layer = ClusterLayer(
            self,
            "k8s",
            props=ClusterLayerProps(
                spec=training,
                prefix=n.prefix,
                namespace=TRAINING_NAMESPACE,
                labels=labels,
                # Workload identity: the cloud stack federates `training/trainer` to this identity.
                trainer_annotations={"azure.workload.identity/client-id": trainer.client_id},
            ),
        )
        mig = any(p.sharing.mode == "mig" for p in training.pools.values())
        AzureDevicePlugin(self, "device-plugin", prefix=n.prefix, labels=labels, mig=mig)
        TerraformOutput(self, "cluster_queues", value=dict(layer.queues.queues))
        TerraformOutput(self, "local_queues", value={p: f"{TRAINING_NAMESPACE}/{p}" for p in training.pools})
