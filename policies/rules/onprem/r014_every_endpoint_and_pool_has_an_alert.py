"""MLOPS_K8S_014: Every InferenceService and every GPU pool is watched by a PrometheusRule alert."""

import json

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import (
    MANIFEST,
    cluster_queues,
    flavors,
    inference_services,
    manifests,
    name_of,
)
from mlops_blueprint.policies.tfjson import Doc, as_list

POOL_LABEL = "mlops.io/pool"


def alert_texts(d: Doc) -> list[str]:
    """Each alerting rule (expr, labels and annotations) of every PrometheusRule, as text."""
    out = []
    for _, obj in manifests(d, "PrometheusRule"):
        for group in as_list((obj.get("spec") or {}).get("groups")):
            for r in as_list(group.get("rules")):
                if isinstance(r, dict) and r.get("alert"):
                    out.append(json.dumps({k: r.get(k) for k in ("expr", "labels", "annotations")}))
    return out


def pool_names(flavor: dict, queues: list[tuple[str, dict]]) -> set[str]:
    """What an alert may call a pool by: the flavor, the ClusterQueues that give it quota, its pool label."""
    name = name_of(flavor)
    names = {name}
    pool = ((flavor.get("metadata") or {}).get("labels") or {}).get(POOL_LABEL)
    if pool:
        names.add(str(pool))
    for _, q in queues:
        if name in json.dumps((q.get("spec") or {}).get("resourceGroups")):
            names.add(name_of(q))
    return {n for n in names if n}


def mentions(texts: list[str], names: set[str]) -> bool:
    return any(f'"{n}"' in t or f'\\"{n}\\"' in t or f"{n}-" in t for t in texts for n in names)


@rule(
    id="MLOPS_K8S_014",
    name="Every InferenceService and GPU pool has an alert",
    severity="medium",
    category="monitoring",
    applies_to=(MANIFEST,),
)
def check(d: Doc):
    texts, queues = alert_texts(d), cluster_queues(d)
    for addr, isvc in inference_services(d):
        ok = mentions(texts, {name_of(isvc)})
        yield addr, ok, "" if ok else f"no PrometheusRule alert names InferenceService {name_of(isvc)!r}"
    for addr, fl in flavors(d):
        ok = mentions(texts, pool_names(fl, queues))
        yield addr, ok, "" if ok else f"no PrometheusRule alert watches GPU pool {name_of(fl)!r}"
