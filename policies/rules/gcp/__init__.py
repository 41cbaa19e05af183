"""GCP resource rules: one file each, MLOPS_GCP_NNN."""

from mlops_blueprint.policies.tfjson import as_list, block  # noqa: E402


def system_pool(b: dict) -> bool:
    """The cluster's untainted system node pool (kube-dns, metrics-server, Kueue), which the accelerator-pool
    rules skip: labelled `mlops.io/plane: system` and carrying no accelerator (no guest accelerator, not a
    TPU `ct*` machine type). Anything else counts as an accelerator pool."""
    nc = block(b, "node_config")
    return (
        (nc.get("labels") or {}).get("mlops.io/plane") == "system"
        and not as_list(nc.get("guest_accelerator"))
        and not str(nc.get("machine_type", "")).startswith("ct")
    )
