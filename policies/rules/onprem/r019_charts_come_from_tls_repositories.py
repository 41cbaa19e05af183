"""MLOPS_K8S_019: Charts come from an https Helm repository or an OCI registry, never plain http or a local path."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import RELEASE
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_K8S_019",
    name="Charts come from https or OCI repositories",
    severity="high",
    category="baseline",
    applies_to=(RELEASE,),
)
def check(d: Doc):
    for addr, b in d.of(RELEASE):
        repo, chart = str(b.get("repository") or ""), str(b.get("chart") or "")
        src = repo or chart
        ok = src.startswith(("https://", "oci://")) and not (
            b.get("repository_insecure") or b.get("insecure_skip_tls_verify")
        )
        yield addr, ok, "" if ok else f"chart source {src!r} is not an https or oci:// repository with TLS verified"
