"""`verify` on GCP: read back, through google-cloud-aiplatform, the blueprint's endpoints and registry.

What Terraform cannot show: that each endpoint exists with its CMEK and private access, what is
deployed on it and how traffic is split, that the lineage store is encrypted, and which versions
of each blueprint model the Vertex AI Model Registry holds.
"""

from __future__ import annotations

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.blueprints.naming import Naming, vertex_endpoint_id
from mlops_blueprint.scripts.rollout import GcpClients
from mlops_blueprint.scripts.verify_aws import Check


def verify(env: ResolvedEnv, clients: GcpClients) -> list[Check]:
    from google.api_core import exceptions as gexc
    from google.cloud import aiplatform_v1 as v1

    bp = env.blueprint
    n = Naming(bp.metadata.name, env.name)
    c = bp.components
    parent = f"projects/{bp.target.project_id}/locations/{bp.target.region}"
    key = f"{parent}/keyRings/{n.gcp_id('keys')}/cryptoKeys/ml"
    out: list[Check] = []

    def check(component: str, subject: str, fn) -> None:
        try:
            ok, detail = fn()
        except gexc.GoogleAPICallError as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc.message}"
        out.append(Check(component, subject, ok, detail))

    for name, spec in (c.serving.endpoints.items() if c.serving else []):
        def endpoint_ok(name=name, spec=spec):
            ep = clients.endpoints.get_endpoint(request=v1.GetEndpointRequest(
                name=f"{parent}/endpoints/{vertex_endpoint_id(n.name(name))}"))
            problems = []
            if ep.encryption_spec.kms_key_name != key:
                problems.append(f"key {ep.encryption_spec.kms_key_name or 'Google-managed'}, want {key}")
            if spec.private and not ep.private_service_connect_config.enable_private_service_connect:
                problems.append("not private (Private Service Connect is off)")
            if spec.capture_requests and not ep.predict_request_response_logging_config.enabled:
                problems.append("request-response logging is off")
            split = ", ".join(f"{d.id} {ep.traffic_split.get(d.id, 0)}%" for d in ep.deployed_models) or "nothing deployed yet"
            return not problems, "; ".join(problems) or f"{ep.display_name}: CMEK, {'private' if spec.private else 'public'}; {split}"
        check("serving", name, endpoint_ok)

    if c.registry:
        def store_ok():
            store = clients.metadata.get_metadata_store(request=v1.GetMetadataStoreRequest(
                name=f"{parent}/metadataStores/{n.gcp_id('metadata')}"))
            ok = store.encryption_spec.kms_key_name == key
            return ok, "lineage store encrypted with the ml key" if ok else f"key {store.encryption_spec.kms_key_name or 'Google-managed'}"
        check("registry", "metadata-store", store_ok)
        for model in c.registry.models:
            def model_ok(model=model):
                found = list(clients.models.list_models(request=v1.ListModelsRequest(
                    parent=parent, filter=f'display_name="{n.name(model)}"')))
                if not found:
                    return True, "no version uploaded yet (rollout uploads the first)"
                m = found[0]
                ok = m.encryption_spec.kms_key_name == key
                return ok, f"{m.name} version {m.version_id}" + ("" if ok else f"; key {m.encryption_spec.kms_key_name or 'Google-managed'}")
            check("registry", model, model_ok)
    return out
