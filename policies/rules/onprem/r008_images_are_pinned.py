"""MLOPS_K8S_008: Every image names a tag or digest, and never `latest`."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import MANIFEST, RELEASE, WORKLOAD_TYPES, dotted, helm_values, walk
from mlops_blueprint.policies.tfjson import Doc


def ref_problem(image: str) -> str:
    """What is wrong with an image reference `registry/repo[:tag][@digest]` ("" when pinned)."""
    if "@sha256:" in image:
        return ""
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"{image!r} has no tag"
    tag = last.rsplit(":", 1)[1]
    return f"{image!r} uses the floating tag latest" if tag.lower() == "latest" else ""


def manifest_problems(obj: object) -> list[str]:
    return [
        f"{dotted(p)}: {msg}"
        for p, k, v in walk(obj)
        if k == "image" and isinstance(v, str) and "${" not in v and (msg := ref_problem(v))
    ]


def values_problems(values: object) -> list[str]:
    """Helm values: an image string, or an image map that names a repository without a tag or digest
    (or with `latest`); a chart's own default tag (its appVersion) is pinned by the chart version."""
    out = []
    for p, k, v in walk(values):
        if not isinstance(k, str) or "image" not in k.lower():
            continue
        # a full reference: `image` or `<something>Image` (`imageName`, `imageRepository` hold no tag by design)
        if (
            isinstance(v, str)
            and k.lower().endswith("image")
            and "/" in v
            and "${" not in v
            and (msg := ref_problem(v))
        ):
            out.append(f"{dotted(p)}: {msg}")
        elif isinstance(v, dict):
            tag = v.get("tag")
            if str(tag).lower() == "latest":
                out.append(f"{dotted(p)}.tag: the floating tag latest")
            elif v.get("repository") and (tag is None or tag == "") and not v.get("digest") and not v.get("sha"):
                out.append(f"{dotted(p)}: repository {v['repository']!r} without a tag or digest")
    return out


@rule(
    id="MLOPS_K8S_008",
    name="Every image is pinned to a tag or digest, never latest",
    severity="high",
    category="baseline",
    applies_to=(MANIFEST, RELEASE, *WORKLOAD_TYPES),
)
def check(d: Doc):
    for addr, b in d.of(MANIFEST, *WORKLOAD_TYPES):
        bad = manifest_problems(b.get("manifest") if addr.startswith(MANIFEST + ".") else b)
        yield addr, not bad, "; ".join(bad)
    for addr, b in d.of(RELEASE):
        bad = [m for doc in helm_values(b) for m in values_problems(doc)]
        yield addr, not bad, "; ".join(bad)
