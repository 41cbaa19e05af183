"""MLOPS_K8S_012: Every GPU pool (ResourceFlavor) has a ClusterQueue with a bounded GPU quota."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import GPU_RESOURCE, MANIFEST, cluster_queues, flavors, name_of
from mlops_blueprint.policies.tfjson import Doc, as_list

MAX_GPUS = 4096  # a quota beyond this is no bound


def quantity(v: object) -> int | None:
    try:
        return int(str(v))
    except ValueError:
        return None


def gpu_quotas(queue: dict, flavor: str) -> list[tuple[str, object, object]]:
    """(resource, nominalQuota, borrowingLimit) of the GPU resources the queue gives `flavor`."""
    out = []
    for group in as_list((queue.get("spec") or {}).get("resourceGroups")):
        for fl in as_list(group.get("flavors")):
            if fl.get("name") == flavor:
                out += [
                    (r.get("name"), r.get("nominalQuota"), r.get("borrowingLimit"))
                    for r in as_list(fl.get("resources"))
                    if GPU_RESOURCE.match(str(r.get("name", "")))
                ]
    return out


@rule(
    id="MLOPS_K8S_012",
    name="Every GPU pool has a ClusterQueue with a bounded GPU quota",
    severity="medium",
    category="training",
    applies_to=(MANIFEST,),
)
def check(d: Doc):
    queues = cluster_queues(d)
    for addr, fl in flavors(d):
        name = name_of(fl)
        found = [(q, gpu_quotas(q, name)) for _, q in queues]
        found = [(q, g) for q, g in found if g]
        if not found:
            yield addr, False, f"no ClusterQueue gives flavor {name!r} a GPU quota (nvidia.com/gpu or nvidia.com/mig-*)"
            continue
        bad = []
        for q, quotas in found:
            cohort = (q.get("spec") or {}).get("cohort") or (q.get("spec") or {}).get("cohortName")
            for res, nominal, borrow in quotas:
                n = quantity(nominal)
                if n is None or not 0 < n <= MAX_GPUS:
                    bad.append(f"{name_of(q)} {res} nominalQuota {nominal!r}")
                elif cohort and borrow is None:
                    bad.append(f"{name_of(q)} {res} may borrow without a borrowingLimit from cohort {cohort!r}")
        yield addr, not bad, "; ".join(bad)
