"""MLOPS_GCP_019: Vertex AI endpoints log requests and responses."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_GCP_019",
    name="Vertex AI endpoints log requests and responses",
    severity="medium",
    category="serving",
    applies_to=("google_vertex_ai_endpoint",),
)
def check(d: Doc):
    for addr, b in d.of("google_vertex_ai_endpoint"):
        log = block(b, "predict_request_response_logging_config")
        ok = log.get("enabled") is True and bool(block(log, "bigquery_destination").get("output_uri"))
        yield addr, ok, "" if ok else "request-response logging is off: no record to monitor drift or audit"
