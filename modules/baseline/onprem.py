"""The secure baseline on an existing Kubernetes cluster: one namespace per plane with Pod Security
Admission `restricted`, default-deny networking, quotas and limit ranges; one ServiceAccount per persona
(holding no permission at all); the platform operators (External Secrets Operator, CloudNativePG) and
the secret store components read their credentials from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cdktn_provider_helm.release import Release
from cdktn_provider_kubernetes.limit_range_v1 import LimitRangeV1
from cdktn_provider_kubernetes.manifest import Manifest
from cdktn_provider_kubernetes.namespace_v1 import NamespaceV1
from cdktn_provider_kubernetes.network_policy_v1 import NetworkPolicyV1
from cdktn_provider_kubernetes.resource_quota_v1 import ResourceQuotaV1
from cdktn_provider_kubernetes.role_binding_v1 import RoleBindingV1
from cdktn_provider_kubernetes.role_v1 import RoleV1
from cdktn_provider_kubernetes.service_account_v1 import ServiceAccountV1
from constructs import Construct

from mlops_blueprint.blueprints.model import PERSONAS, Baseline, Target
from mlops_blueprint.modules.onprem_common import CHARTS, Chart, Principal, manifest, protect, release
from mlops_blueprint.stacks.onprem.names import PLANES, OnpremNames

# Reviewed 2026-11.
# External Secrets Operator (Apache-2.0, CNCF): components ask for secrets by name from one
# ClusterSecretStore; which backend answers (this cluster's own `secrets` namespace now, an
# organisation's Vault/OpenBao or an HSM-backed store later) is a change to that store only.
CHARTS["external-secrets"] = Chart(
    repository="https://charts.external-secrets.io",
    chart="external-secrets",
    version="2.9.0",
    app_version="v2.9.0",
    values_schema="tests/schemas/charts/external-secrets-2.9.0.values.schema.json",
)
# CloudNativePG (Apache-2.0, CNCF): the Postgres operator the catalog and registry databases use
# (Bitnami's free images were withdrawn in 2025; CNPG ships its own signed PostgreSQL images).
CHARTS["cloudnative-pg"] = Chart(
    repository="https://cloudnative-pg.github.io/charts",
    chart="cloudnative-pg",
    version="0.29.0",
    app_version="1.30.0",
    values_schema="tests/schemas/charts/cloudnative-pg-0.29.0.values.schema.json",
)

ESO_IMAGE_TAG = "v2.9.0"
CNPG_IMAGE_TAG = "1.30.0"
# The PostgreSQL image every CNPG cluster of the platform runs (CNPG's own minimal image, pinned).
POSTGRES_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.6-minimal-trixie"

# The platform operators' chart values, by chart (each is released in the system namespace).
OPERATOR_VALUES: dict[str, dict[str, Any]] = {
    "external-secrets": {
        "installCRDs": True,
        "image": {"tag": ESO_IMAGE_TAG},
        "webhook": {"image": {"tag": ESO_IMAGE_TAG}},
        "certController": {"image": {"tag": ESO_IMAGE_TAG}},
        "serviceMonitor": {"enabled": False},
    },
    "cloudnative-pg": {
        "image": {"tag": CNPG_IMAGE_TAG},
        "crds": {"create": True},
        "config": {"clusterWide": True},
    },
}

PSA_LEVEL = "restricted"
GPU = "requests.nvidia.com/gpu"


@dataclass(frozen=True)
class Quota:
    """Per-namespace ceilings (sums over all pods) and the default/maximum of one container."""

    requests_cpu: str
    requests_memory: str
    limits_cpu: str
    limits_memory: str
    pods: int
    pvcs: int
    storage: str
    gpus: int = 0


# Sized for one environment of a mid-size research platform; GPUs are admitted only in training and
# serving (the other namespaces get a GPU quota of 0). In training, Kueue's ClusterQueues do the fine
# accounting per pool (including MIG slices); this quota is the namespace's outer bound.
QUOTAS: dict[str, Quota] = {
    "data": Quota("32", "128Gi", "64", "256Gi", 100, 40, "4Ti"),
    "training": Quota("256", "2Ti", "512", "4Ti", 500, 50, "10Ti", gpus=64),
    "registry": Quota("16", "64Gi", "32", "128Gi", 60, 20, "2Ti"),
    "serving": Quota("64", "256Gi", "128", "512Gi", 200, 10, "500Gi", gpus=16),
    "monitoring": Quota("16", "64Gi", "32", "128Gi", 60, 10, "1Ti"),
    "system": Quota("8", "16Gi", "16", "32Gi", 30, 5, "50Gi"),
    # The GPU operator's daemonsets run one pod per GPU node per operand: generous pods, no volumes.
    "gpu-operator": Quota("16", "32Gi", "64", "128Gi", 400, 0, "0"),
    "secrets": Quota("0", "0", "0", "0", 0, 0, "0"),
    "personas": Quota("0", "0", "0", "0", 0, 0, "0"),
}
CONTAINER_DEFAULT = {"cpu": "500m", "memory": "512Mi"}
CONTAINER_DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
CONTAINER_MAX = {"cpu": "32", "memory": "512Gi"}

# Operators talk to the API server (not a pod: NetworkPolicy can only name it by address) and receive
# its admission webhook calls (CNPG 9443, ESO 10250).
API_SERVER_PORTS = (443, 6443)
WEBHOOK_PORTS = (9443, 10250)


def k8s_name(id: str) -> str:
    """A construct id as a Kubernetes object name (persona ids carry underscores)."""
    return id.replace("_", "-").lower()


def _tcp(ports: Iterable[int]) -> list[dict[str, str]]:
    """NetworkPolicy ports: each of `ports` over TCP."""
    return [{"port": str(p), "protocol": "TCP"} for p in ports]


def _namespace_selector(namespace: str) -> dict[str, Any]:
    """A NetworkPolicy peer: every pod of `namespace` (by its `kubernetes.io/metadata.name` label)."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def _psa(version: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for mode in ("enforce", "audit", "warn"):
        out[f"pod-security.kubernetes.io/{mode}"] = PSA_LEVEL
        out[f"pod-security.kubernetes.io/{mode}-version"] = version
    return out


@dataclass(frozen=True)
class BaselineProps:
    """naming: the environment's names. spec: the neutral baseline (network and budget have no on-prem
    meaning: the cluster's network and capacity exist already). target: kube_context, kubernetes_version
    (PSA is pinned to that version's `restricted` profile; omitted: `latest`), storage_class and
    ingress_class (omitted: the cluster's defaults). notify: budget/alert recipients (kept for components).
    labels: put on every namespace. protect: prevent_destroy on the namespaces (a namespace's deletion
    deletes everything in it)."""

    naming: OnpremNames
    spec: Baseline
    target: Target
    notify: tuple[str, ...]
    labels: dict[str, str]
    protect: bool


class OnpremBaseline(Construct):
    """Namespaces `<prefix>-<plane>` for the five planes (`namespaces`, `namespace_objects`), plus
    `<prefix>-system` (the platform operators), `<prefix>-secrets` (the secret store's backing Secrets,
    no pods) and `<prefix>-personas` (only the persona ServiceAccounts, no pods). Every namespace:

    - Pod Security Admission `restricted` (enforce, audit, warn), pinned to the target's version;
    - a default-deny NetworkPolicy (ingress and egress), DNS egress to kube-system, and traffic between
      pods of the same namespace (a plane is one trust zone; crossings are opened with `allow`);
    - a ResourceQuota (`QUOTAS`: cpu/memory requests and limits, pods, PVC count and storage, GPU
      requests only in training and serving) and a LimitRange (container defaults and maximum).

    `personas`: one ServiceAccount per persona (token not automounted), with the OIDC group its people
    arrive as; nothing is bound to them here: components grant through their grant methods.

    Secret store: External Secrets Operator rather than an in-cluster HashiCorp Vault. Vault in the
    cluster needs unsealing (an HSM or a cloud KMS for auto-unseal, which an on-prem cluster may not have)
    and is BUSL-licensed since 1.15; ESO is Apache-2.0 and only a broker, so an organisation's existing
    Vault/OpenBao can be put behind the same store name later without touching any component. Until then
    the ClusterSecretStore `secret_store` reads Secrets of the `<prefix>-secrets` namespace (operators put
    externally issued credentials there; generated ones are made in-cluster by `generated_secret`, so no
    secret value ever enters Terraform state). Custom resources (the store, generators) are
    kubernetes_manifest resources: their CRDs must exist at plan time, so a new cluster is applied twice
    (first `-target` the operator releases), as with every CRD-based component.

    CloudNativePG's operator is installed here too, since the catalog and the registry both need Postgres.
    """

    def __init__(self, scope: Construct, id: str, *, props: BaselineProps):
        super().__init__(scope, id)
        n, t = props.naming, props.target
        self.naming = n
        self.target = t
        self.labels = dict(props.labels)
        self.notify = tuple(props.notify)
        self.storage_class: str | None = t.storage_class
        self.ingress_class: str | None = t.ingress_class
        self._protect = props.protect
        self._psa = _psa(f"v{t.kubernetes_version}" if t.kubernetes_version else "latest")
        self._generators: dict[str, tuple[str, Manifest]] = {}

        self.namespace_objects: dict[str, NamespaceV1] = {p: self._namespace(p, n.namespace(p)) for p in PLANES}
        self.namespaces: dict[str, str] = {p: n.namespace(p) for p in PLANES}
        self.system_namespace = n.namespace("system")
        self.secrets_namespace = n.namespace("secrets")
        self.personas_namespace = n.namespace("personas")
        self.extra_namespace_objects: dict[str, NamespaceV1] = {
            key: self._namespace(key, n.namespace(key)) for key in ("system", "secrets", "personas")
        }
        # Everything this construct made in each namespace: components depend on it before deploying.
        self.guards: dict[str, list[Any]] = {}
        names = {
            **self.namespaces,
            "system": self.system_namespace,
            "secrets": self.secrets_namespace,
            "personas": self.personas_namespace,
        }
        for key, ns in {**self.namespace_objects, **self.extra_namespace_objects}.items():
            self.guards[key] = [ns, *self._guard(key, names[key], ns)]
        self._allow_platform_operators()

        self.personas: dict[str, Principal] = {}
        self.persona_accounts: dict[str, ServiceAccountV1] = {}
        for p in PERSONAS:
            principal = Principal(
                name=n.persona(p), namespace=self.personas_namespace, group=f"mlops:{n.prefix}:{p.replace('_', '-')}"
            )
            self.persona_accounts[p] = ServiceAccountV1(
                self,
                f"persona-{p}",
                metadata={
                    "name": principal.name,
                    "namespace": principal.namespace,
                    "labels": {**self.labels, "mlops.io/persona": p.replace("_", "-")},
                },
                automount_service_account_token=False,
                depends_on=[self.extra_namespace_objects["personas"]],
            )
            self.personas[p] = principal

        # Platform operators.
        self.operators: dict[str, Release] = {
            chart: release(
                self,
                chart,
                name=n.release(chart),
                chart=chart,
                namespace=self.system_namespace,
                depends_on=self.guards["system"],
                values=values,
            )
            for chart, values in OPERATOR_VALUES.items()
        }
        self.secret_operator: Release = self.operators["external-secrets"]
        self.postgres_operator: Release = self.operators["cloudnative-pg"]

        # The secret store: a ClusterSecretStore over the secrets namespace, read by a ServiceAccount
        # that may only get/list/watch Secrets there.
        reader = ServiceAccountV1(
            self,
            "secret-store-reader",
            metadata={"name": "secret-store-reader", "namespace": self.secrets_namespace, "labels": self.labels},
            automount_service_account_token=False,
            depends_on=self.guards["secrets"],
        )
        RoleV1(
            self,
            "secret-store-read",
            metadata=[{"name": "secret-store-read", "namespace": self.secrets_namespace}],
            rule=[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}],
            depends_on=self.guards["secrets"],
        )
        RoleBindingV1(
            self,
            "secret-store-read-binding",
            metadata={"name": "secret-store-read", "namespace": self.secrets_namespace},
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-store-read"},
            subject=[{"kind": "ServiceAccount", "name": "secret-store-reader", "namespace": self.secrets_namespace}],
            depends_on=self.guards["secrets"],
        )
        self.secret_store: str = n.name("secrets")
        self.secret_store_manifest = manifest(
            self,
            "secret-store",
            {
                "apiVersion": "external-secrets.io/v1",
                "kind": "ClusterSecretStore",
                "metadata": {"name": self.secret_store, "labels": self.labels},
                "spec": {
                    # Only the platform's namespaces may use it.
                    "conditions": [{"namespaces": [*self.namespaces.values(), self.system_namespace]}],
                    "provider": {
                        "kubernetes": {
                            "remoteNamespace": self.secrets_namespace,
                            "server": {
                                "caProvider": {
                                    "type": "ConfigMap",
                                    "name": "kube-root-ca.crt",
                                    "key": "ca.crt",
                                    "namespace": self.secrets_namespace,
                                }
                            },
                            "auth": {
                                "serviceAccount": {"name": "secret-store-reader", "namespace": self.secrets_namespace}
                            },
                        }
                    },
                },
            },
            depends_on=[self.secret_operator, reader],
        )

    # -- namespaces -------------------------------------------------------------------------------------

    def _namespace(self, key: str, name: str) -> NamespaceV1:
        return NamespaceV1(
            self,
            f"ns-{key}",
            metadata=[{"name": name, "labels": {**self.labels, **self._psa, "mlops.io/plane": key}}],
            lifecycle=protect(self._protect),
        )

    def guard(self, key: str, ns: str, obj: NamespaceV1) -> list[Any]:
        """The same guards every platform namespace gets (default-deny, DNS and same-namespace flows,
        quota `QUOTAS[key]`, limit range), for a namespace a component makes itself."""
        return self._guard(key, ns, obj)

    def _guard(self, key: str, ns: str, obj: NamespaceV1) -> list[Any]:
        q, dep = QUOTAS[key], [obj]

        def policy(name: str, spec: dict[str, Any]) -> NetworkPolicyV1:
            return NetworkPolicyV1(
                self, f"{key}-{name}", metadata={"name": name, "namespace": ns}, spec=spec, depends_on=dep
            )

        deny = policy("default-deny", {"pod_selector": {}, "policy_types": ["Ingress", "Egress"]})
        dns = policy(
            "allow-dns",
            {
                "pod_selector": {},
                "policy_types": ["Egress"],
                "egress": [
                    {
                        "to": [_namespace_selector("kube-system")],
                        "ports": [{"port": "53", "protocol": "UDP"}, {"port": "53", "protocol": "TCP"}],
                    }
                ],
            },
        )
        same = policy(
            "allow-same-namespace",
            {
                "pod_selector": {},
                "policy_types": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        )
        hard = {
            "requests.cpu": q.requests_cpu,
            "requests.memory": q.requests_memory,
            "limits.cpu": q.limits_cpu,
            "limits.memory": q.limits_memory,
            "pods": str(q.pods),
            "persistentvolumeclaims": str(q.pvcs),
            "requests.storage": q.storage,
            GPU: str(q.gpus),
        }
        quota = ResourceQuotaV1(
            self,
            f"{key}-quota",
            metadata={"name": "platform-quota", "namespace": ns},
            spec={"hard": hard},
            depends_on=dep,
        )
        limits = LimitRangeV1(
            self,
            f"{key}-limits",
            metadata={"name": "platform-limits", "namespace": ns},
            spec={
                "limit": [
                    {
                        "type": "Container",
                        "default": dict(CONTAINER_DEFAULT),
                        "defaultRequest": dict(CONTAINER_DEFAULT_REQUEST),
                        "max": dict(CONTAINER_MAX),
                    }
                ]
            },
            depends_on=dep,
        )
        return [deny, dns, same, quota, limits]

    def _allow_platform_operators(self) -> None:
        ns = self.system_namespace
        NetworkPolicyV1(
            self,
            "system-allow-api-server",
            metadata={"name": "allow-api-server", "namespace": ns},
            depends_on=[self.extra_namespace_objects["system"]],
            spec={
                "pod_selector": {},
                "policy_types": ["Ingress", "Egress"],
                "egress": [
                    {
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                        "ports": _tcp(API_SERVER_PORTS),
                    }
                ],
                "ingress": [
                    {
                        "from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                        "ports": _tcp(WEBHOOK_PORTS),
                    }
                ],
            },
        )

    def allow(
        self,
        scope: Construct,
        id: str,
        *,
        namespace: str,
        from_namespaces: list[str],
        ports: list[int],
        pod_selector: dict | None = None,
    ) -> NetworkPolicyV1:
        """Let pods of `from_namespaces` reach pods of `namespace` (all of them, or those matching
        `pod_selector`, a `match_labels` mapping) on TCP `ports`: an ingress policy in `namespace` and the
        matching egress policy in each source namespace (made in `scope`, named after `id`)."""
        if not from_namespaces or not ports:
            raise ValueError(
                f"allow {id!r}: name at least one source namespace and one port (got {from_namespaces!r}, {ports!r})"
            )
        name = k8s_name(id)
        selector = {"match_labels": dict(pod_selector)} if pod_selector else {}
        port_list = _tcp(ports)
        policy = NetworkPolicyV1(
            scope,
            id,
            metadata={"name": name, "namespace": namespace},
            spec={
                "pod_selector": selector,
                "policy_types": ["Ingress"],
                "ingress": [
                    {
                        "from": [_namespace_selector(src) for src in from_namespaces],
                        "ports": port_list,
                    }
                ],
            },
        )
        for src in from_namespaces:
            to: dict[str, Any] = _namespace_selector(namespace)
            if pod_selector:
                to["podSelector"] = {"matchLabels": dict(pod_selector)}
            NetworkPolicyV1(
                scope,
                f"{id}-egress-{src}",
                metadata={"name": f"{name}-egress", "namespace": src},
                spec={"pod_selector": {}, "policy_types": ["Egress"], "egress": [{"to": [to], "ports": port_list}]},
            )
        return policy

    # -- secrets ----------------------------------------------------------------------------------------

    def external_secret(
        self,
        scope: Construct,
        id: str,
        *,
        namespace: str,
        name: str,
        keys: dict[str, str],
        template: dict[str, str] | None = None,
        depends_on: list | None = None,
    ) -> Manifest:
        """A Secret `name` in `namespace` filled from the secret store: `keys` maps the local key to
        `<remote Secret>/<key>` in the secrets namespace; `template` (optional) renders extra keys."""
        data = []
        for local, ref in keys.items():
            remote, _, prop = ref.partition("/")
            data.append({"secretKey": local, "remoteRef": {"key": remote, "property": prop or local}})
        spec = {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": self.secret_store},
            "data": data,
        }
        return self._external_secret(
            scope,
            id,
            namespace=namespace,
            name=name,
            spec=spec,
            template=template,
            depends_on=[self.secret_store_manifest, *(depends_on or [])],
        )

    def generated_secret(
        self,
        scope: Construct,
        id: str,
        *,
        namespace: str,
        name: str,
        keys: list[str],
        template: dict[str, str] | None = None,
        depends_on: list | None = None,
    ) -> Manifest:
        """A Secret `name` in `namespace` whose `keys` are random 40-character values generated once
        in the cluster (ESO Password generator, refreshPolicy CreatedOnce: never rotated by accident,
        never in Terraform state); `template` may add derived keys."""
        gen_name, gen = self._generator(namespace, keys)
        generator = {"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password", "name": gen_name}
        spec = {"refreshPolicy": "CreatedOnce", "dataFrom": [{"sourceRef": {"generatorRef": generator}}]}
        return self._external_secret(
            scope,
            id,
            namespace=namespace,
            name=name,
            spec=spec,
            template=template,
            retain=True,
            depends_on=[self.secret_operator, gen, *(depends_on or [])],
        )

    def _external_secret(
        self,
        scope: Construct,
        id: str,
        *,
        namespace: str,
        name: str,
        spec: dict[str, Any],
        template: dict[str, str] | None,
        depends_on: list,
        retain: bool = False,
    ) -> Manifest:
        """An ExternalSecret writing Secret `name` in `namespace` from `spec`'s source; `template` adds keys."""
        target: dict[str, Any] = {"name": name, "creationPolicy": "Owner"}
        if retain:
            target["deletionPolicy"] = "Retain"
        if template:
            target["template"] = {"engineVersion": "v2", "mergePolicy": "Merge", "data": dict(template)}
        return manifest(
            scope,
            id,
            {
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "metadata": {"name": name, "namespace": namespace, "labels": self.labels},
                "spec": {**spec, "target": target},
            },
            depends_on=depends_on,
        )

    def _generator(self, namespace: str, keys: list[str]) -> tuple[str, Manifest]:
        """One Password generator per namespace and key set (generators are namespaced)."""
        key = f"{namespace}:{','.join(keys)}"
        if key not in self._generators:
            idx = len(self._generators)
            name = f"platform-password-{idx}"
            self._generators[key] = (
                name,
                manifest(
                    self,
                    f"password-generator-{idx}",
                    {
                        "apiVersion": "generators.external-secrets.io/v1alpha1",
                        "kind": "Password",
                        "metadata": {"name": name, "namespace": namespace, "labels": self.labels},
                        "spec": {
                            "length": 40,
                            "digits": 10,
                            "symbols": 0,
                            "noUpper": False,
                            "allowRepeat": True,
                            "secretKeys": list(keys),
                        },
                    },
                    depends_on=[self.secret_operator],
                ),
            )
        return self._generators[key]

    def postgres(
        self,
        scope: Construct,
        id: str,
        *,
        namespace: str,
        name: str,
        database: str,
        owner: str,
        size: str,
        instances: int,
        protect_it: bool,
        depends_on: list | None = None,
    ) -> Manifest:
        """A CloudNativePG cluster `name` in `namespace` with one database; the operator generates the
        owner's password into Secret `<name>-app` (keys username, password, host, port, dbname, uri)
        and the read-write service is `<name>-rw.<namespace>.svc:5432`."""
        spec: dict[str, Any] = {
            "instances": instances,
            "imageName": POSTGRES_IMAGE,
            "storage": {"size": size, **({"storageClass": self.storage_class} if self.storage_class else {})},
            "bootstrap": {"initdb": {"database": database, "owner": owner}},
            "enableSuperuserAccess": False,
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
        }
        return manifest(
            scope,
            id,
            {
                "apiVersion": "postgresql.cnpg.io/v1",
                "kind": "Cluster",
                "metadata": {"name": name, "namespace": namespace, "labels": self.labels},
                "spec": spec,
            },
            depends_on=[self.postgres_operator, *(depends_on or [])],
            protect_it=protect_it,
        )

    # -- RBAC -------------------------------------------------------------------------------------------

    def grant(
        self, scope: Construct, id: str, *, namespace: str, principal: Principal, rules: list[dict[str, list[str]]]
    ) -> RoleV1:
        """A namespaced Role with exactly `rules` (camelCase keys: apiGroups, resources, verbs,
        resourceNames; named verbs and resources, never `*`) bound to the principal's ServiceAccount and
        group. Written against the provider's list-typed
        `metadata` and camelCase nested blocks."""
        for r in rules:
            if "*" in r.get("verbs", []) or "*" in r.get("resources", []) or "*" in r.get("apiGroups", []):
                raise ValueError(
                    f"role {id!r}: wildcard verbs, resources or API groups are not allowed (least privilege): {r}"
                )
        name = k8s_name(id)
        role = RoleV1(
            scope,
            id,
            metadata=[{"name": name, "namespace": namespace, "labels": self.labels}],
            rule=[dict(r) for r in rules],
        )
        subjects: list[dict[str, str]] = [
            {"kind": "ServiceAccount", "name": principal.name, "namespace": principal.namespace}
        ]
        if principal.group:
            subjects.append({"kind": "Group", "name": principal.group, "apiGroup": "rbac.authorization.k8s.io"})
        RoleBindingV1(
            scope,
            f"{id}-binding",
            metadata={"name": name, "namespace": namespace, "labels": self.labels},
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            subject=subjects,
            depends_on=[role],
        )
        return role

    def allow_egress(
        self, scope: Construct, id: str, *, namespace: str, ports: list[int], pod_selector: dict | None = None
    ) -> NetworkPolicyV1:
        """Let pods of `namespace` (or those matching `pod_selector`) open TCP `ports` to addresses outside
        the cluster's namespaces (an external object store, a registry upstream): an egress policy."""
        return NetworkPolicyV1(
            scope,
            id,
            metadata={"name": k8s_name(id), "namespace": namespace},
            spec={
                "pod_selector": {"match_labels": dict(pod_selector)} if pod_selector else {},
                "policy_types": ["Egress"],
                "egress": [
                    {
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                        "ports": _tcp(ports),
                    }
                ],
            },
        )
