"""MLOPS_GCP_018: Vertex AI endpoints are reachable only privately."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_GCP_018",
    name="Vertex AI endpoints are reachable only privately",
    severity="high",
    category="serving",
    applies_to=("google_vertex_ai_endpoint",),
)
def check(d: Doc):
    for addr, b in d.of("google_vertex_ai_endpoint"):
        ok = block(b, "private_service_connect_config").get("enable_private_service_connect") is True or bool(
            b.get("network")
        )
        yield addr, ok, "" if ok else "public endpoint: enable Private Service Connect (serving endpoint private: true)"
