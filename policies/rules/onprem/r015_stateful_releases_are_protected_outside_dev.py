"""MLOPS_K8S_015: Stateful releases, databases and volumes refuse destruction outside dev.

Namespaces are left to the data-loss guard (MLOPS_CHG_001): a plane's namespace is protected with
the rest of the environment, but a namespace that only holds an operator (the GPU operator's) need not be."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import MANIFEST, PVC_TYPES, RELEASE
from mlops_blueprint.policies.tfjson import Doc, block

# Charts whose release owns data (its volumes go with it). Operators (CloudNativePG, Kueue, KServe,
# the GPU operator) and stateless servers (MLflow, the metastore) are not here.
STATEFUL_CHARTS = {"seaweedfs", "minio", "tenant", "harbor", "postgresql", "cluster", "vault", "openbao", "garage"}
# Custom resources that own data (a CloudNativePG cluster, a MinIO tenant).
STATEFUL_KINDS = {("postgresql.cnpg.io", "Cluster"), ("minio.min.io", "Tenant")}


def stateful(addr: str, b: dict) -> bool:
    rtype = addr.split(".")[0]
    if rtype == RELEASE:
        return str(b.get("chart", "")).rsplit("/", 1)[-1] in STATEFUL_CHARTS
    if rtype == MANIFEST:
        obj = b.get("manifest") or {}
        return (str(obj.get("apiVersion", "")).split("/")[0], obj.get("kind")) in STATEFUL_KINDS or (
            obj.get("kind") == "PersistentVolumeClaim"
        )
    return rtype in PVC_TYPES


@rule(
    id="MLOPS_K8S_015",
    name="Stateful releases, databases and volumes refuse destruction outside dev",
    severity="high",
    category="data_lake",
    applies_to=(RELEASE, MANIFEST, *PVC_TYPES),
)
def check(d: Doc):
    env = d.environment()
    for addr, b in d.of(RELEASE, MANIFEST, *PVC_TYPES):
        if not stateful(addr, b):
            continue
        ok = env == "dev" or block(b, "lifecycle").get("prevent_destroy") is True
        yield addr, ok, "" if ok else f"no lifecycle.prevent_destroy in environment {env!r}: its data would go with it"
