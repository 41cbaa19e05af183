"""The GCP glue (rollout, verify) against a client-level fake of google-cloud-aiplatform that records
every request. The requests are real aiplatform_v1 messages and are compared exactly; the fake only
answers. What this proves: the glue sends the right requests in the right order for the blueprint.
What it does not prove: that Vertex AI accepts them (no GCP emulator exists; see README)."""

import pytest
from google.api_core import exceptions as gexc
from google.cloud import aiplatform_v1 as v1

from mlops_blueprint.blueprints import load
from mlops_blueprint.scripts.glue import RolloutError, split
from mlops_blueprint.scripts.glue.gcp import GcpClients
from mlops_blueprint.scripts.glue.gcp import rollout_with as rollout_gcp
from mlops_blueprint.scripts.glue.gcp import verify_with as verify
from mlops_blueprint.stacks.gcp.names import vertex_endpoint_id
from tests.conftest import ROOT

VISION = ROOT / "blueprints/reference/gcp-vision.yaml"
PARENT = "projects/acme-vision-dev/locations/us-central1"
KEY = f"{PARENT}/keyRings/vision-dev-keys/cryptoKeys/ml"
ENDPOINT = f"{PARENT}/endpoints/{vertex_endpoint_id('vision-dev-detector')}"


class Op:
    def __init__(self, value):
        self.value = value

    def result(self, timeout=None):
        return self.value


class FakeVertex:
    """ModelService, EndpointService and MetadataService in one recorder."""

    def __init__(self, models=(), endpoint=None, store_key=KEY):
        self.calls: list[tuple[str, object]] = []
        self.models = list(models)
        self.endpoint = endpoint
        self.store_key = store_key

    def list_models(self, request):
        self.calls.append(("list_models", request))
        return iter(self.models)

    def upload_model(self, request):
        self.calls.append(("upload_model", request))
        name = request.parent_model or f"{request.parent}/models/{request.model_id}"
        return Op(v1.UploadModelResponse(model=name, model_version_id=str(len(self.models) + 1)))

    def get_endpoint(self, request):
        self.calls.append(("get_endpoint", request))
        if self.endpoint is None:
            raise gexc.NotFound("endpoint not found")
        return self.endpoint

    def deploy_model(self, request):
        self.calls.append(("deploy_model", request))
        return Op(v1.DeployModelResponse(deployed_model=v1.DeployedModel(id="777")))

    def get_metadata_store(self, request):
        self.calls.append(("get_metadata_store", request))
        return v1.MetadataStore(name=request.name, encryption_spec=v1.EncryptionSpec(kms_key_name=self.store_key))


def endpoint(traffic=None, private=True, key=KEY):
    return v1.Endpoint(
        name=ENDPOINT,
        display_name="vision-dev-detector",
        encryption_spec=v1.EncryptionSpec(kms_key_name=key),
        private_service_connect_config=v1.PrivateServiceConnectConfig(enable_private_service_connect=private),
        predict_request_response_logging_config=v1.PredictRequestResponseLoggingConfig(enabled=True),
        traffic_split=traffic or {},
        deployed_models=[v1.DeployedModel(id=k) for k in (traffic or {})],
    )


def clients(fake):
    return GcpClients(models=fake, endpoints=fake, metadata=fake)


@pytest.fixture(scope="module")
def dev():
    return load(VISION).envs["dev"]


def test_first_rollout_uploads_a_new_model_and_deploys_it_with_all_traffic(dev):
    fake = FakeVertex(endpoint=endpoint())
    result = rollout_gcp(dev, "detector", "v1.0", 100, clients(fake))
    assert [c[0] for c in fake.calls] == ["get_endpoint", "list_models", "upload_model", "deploy_model"]
    assert fake.calls[1][1] == v1.ListModelsRequest(parent=PARENT, filter='display_name="vision-dev-detector"')
    assert fake.calls[2][1] == v1.UploadModelRequest(
        parent=PARENT,
        model_id="vision-dev-detector",
        model=v1.Model(
            display_name="vision-dev-detector",
            artifact_uri="gs://vision-dev-model-artifacts/detector/v1.0/",
            container_spec=v1.ModelContainerSpec(
                image_uri="us-central1-docker.pkg.dev/acme-vision-dev/vision-dev-detector/detector:v1.0"
            ),
            encryption_spec=v1.EncryptionSpec(kms_key_name=KEY),
            version_aliases=["v1-0"],
            labels={"mlops_endpoint": "detector", "image_tag": "v1-0"},
        ),
    )
    assert fake.calls[3][1] == v1.DeployModelRequest(
        endpoint=ENDPOINT,
        traffic_split={"0": 100},
        deployed_model=v1.DeployedModel(
            model=f"{PARENT}/models/vision-dev-detector@1",
            display_name="vision-dev-detector-v1.0",
            service_account="vision-dev-serving@acme-vision-dev.iam.gserviceaccount.com",
            dedicated_resources=v1.DedicatedResources(
                machine_spec=v1.MachineSpec(
                    machine_type="g2-standard-4", accelerator_type="NVIDIA_L4", accelerator_count=1
                ),
                min_replica_count=1,
                max_replica_count=4,
            ),
        ),
    )
    assert result.traffic == {"new": 100} and result.version == f"{PARENT}/models/vision-dev-detector@1"


def test_canary_uploads_a_new_version_and_splits_traffic(dev):
    model = v1.Model(name=f"{PARENT}/models/vision-dev-detector", display_name="vision-dev-detector")
    fake = FakeVertex(models=[model], endpoint=endpoint({"111": 100}))
    result = rollout_gcp(dev, "detector", "v2", 10, clients(fake), artifact="gs://elsewhere/detector-v2/")
    upload = fake.calls[2][1]
    assert (
        upload.parent_model == model.name
        and upload.model_id == ""
        and upload.model.artifact_uri == "gs://elsewhere/detector-v2/"
    )
    deploy = fake.calls[3][1]
    assert dict(deploy.traffic_split) == {"111": 90, "0": 10}
    assert result.traffic == {"111": 90, "new": 10} and result.version.endswith("@2")


def test_cpu_endpoints_deploy_without_accelerators(dev):
    fake = FakeVertex(endpoint=endpoint())
    rollout_gcp(dev, "classifier", "c1", 100, clients(fake))
    spec = fake.calls[3][1].deployed_model.dedicated_resources
    assert spec.machine_spec == v1.MachineSpec(machine_type="n2-standard-4") and (
        spec.min_replica_count,
        spec.max_replica_count,
    ) == (1, 8)


def test_rollout_refuses_unknown_endpoint_and_bad_share_before_any_call(dev):
    fake = FakeVertex(endpoint=endpoint())
    with pytest.raises(RolloutError, match="endpoint 'nope' is not in the blueprint; endpoints: detector, classifier"):
        rollout_gcp(dev, "nope", "v1", 10, clients(fake))
    with pytest.raises(RolloutError, match="between 1 and 100"):
        rollout_gcp(dev, "detector", "v1", 0, clients(fake))
    assert fake.calls == []


@pytest.mark.parametrize(
    "current, share, want",
    [
        ({}, 10, {"0": 100}),
        ({"a": 100}, 10, {"a": 90, "0": 10}),
        ({"a": 50, "b": 50}, 25, {"a": 37, "b": 38, "0": 25}),
        ({"a": 90, "b": 10}, 100, {"0": 100}),
        ({"a": 1, "b": 99}, 50, {"a": 0, "b": 50, "0": 50}),
    ],
)
def test_split_always_sums_to_100(current, share, want):
    got = split(current, "0", share)
    assert got == want and sum(got.values()) == 100


def test_verify_reads_back_endpoints_store_and_models(dev):
    fake = FakeVertex(endpoint=endpoint({"111": 100}))
    checks = verify(dev, clients(fake))
    assert [(c.component, c.subject, c.ok) for c in checks] == [
        ("serving", "detector", True),
        ("serving", "classifier", True),
        ("registry", "metadata-store", True),
        ("registry", "detector", True),
        ("registry", "classifier", True),
    ]
    assert "111 100%" in checks[0].detail
    assert fake.calls[0][1] == v1.GetEndpointRequest(name=ENDPOINT)
    assert (
        "get_metadata_store",
        v1.GetMetadataStoreRequest(name=f"{PARENT}/metadataStores/vision-dev-metadata"),
    ) in fake.calls


def test_verify_fails_a_public_endpoint_with_a_google_key_and_a_missing_one(dev):
    bad = FakeVertex(endpoint=endpoint(private=False, key=""), store_key="")
    checks = {(c.component, c.subject): c for c in verify(dev, clients(bad))}
    ep = checks[("serving", "detector")]
    assert not ep.ok and "not private" in ep.detail and "Google-managed" in ep.detail
    assert not checks[("registry", "metadata-store")].ok
    missing = {(c.component, c.subject): c for c in verify(dev, clients(FakeVertex(endpoint=None)))}
    assert not missing[("serving", "detector")].ok and missing[("serving", "detector")].detail.startswith("NotFound")


def test_cli_rollout_and_verify_on_gcp_use_the_glue(monkeypatch):
    from typer.testing import CliRunner

    from mlops_blueprint.scripts.cli import app
    from mlops_blueprint.scripts.glue import gcp as glue

    fake = FakeVertex(endpoint=endpoint({"111": 100}))
    monkeypatch.setattr(glue, "gcp_clients", lambda region: clients(fake))
    monkeypatch.setattr(glue, "credentials_problem", lambda: None)  # as on a machine with credentials
    r = CliRunner().invoke(
        app, ["rollout", str(VISION), "--env", "dev", "--endpoint", "detector", "--image-tag", "v3", "--traffic", "20"]
    )
    assert r.exit_code == 0, r.output
    assert "111 80%" in r.output and "new 20%" in r.output
    r = CliRunner().invoke(app, ["verify", str(VISION), "--env", "dev"])
    assert r.exit_code == 0 and "5/5 checks passed" in r.output
    r = CliRunner().invoke(
        app, ["rollout", str(VISION), "--env", "dev", "--endpoint", "detector", "--image-tag", "v3", "--local"]
    )
    assert r.exit_code == 2 and "no emulator for gcp" in r.output


def test_gcs_state_bucket_is_created_once_versioned_and_private(dev):
    from google.cloud import storage

    from mlops_blueprint.scripts.glue.gcp import bootstrap_state_with as bootstrap_gcs_state

    class FakeStorage:
        def __init__(self):
            self.created, self.existing = [], set()

        def get_bucket(self, name):
            if name not in self.existing:
                raise gexc.NotFound(name)

        def bucket(self, name):
            return storage.Bucket(client=None, name=name)

        def create_bucket(self, bucket, location):
            self.created.append(
                (
                    bucket.name,
                    location,
                    bucket.versioning_enabled,
                    bucket.iam_configuration.uniform_bucket_level_access_enabled,
                    bucket.iam_configuration.public_access_prevention,
                )
            )
            self.existing.add(bucket.name)

    fake, said = FakeStorage(), []
    bootstrap_gcs_state(dev, fake, said.append)
    bootstrap_gcs_state(dev, fake, said.append)
    assert fake.created == [("vision-dev-tfstate", "us-central1", True, True, "enforced")]
    assert said == ["creating state bucket gs://vision-dev-tfstate"]


def test_missing_google_credentials_is_a_clear_error(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "missing.json"), NO_COLOR="1")
    p = subprocess.run(
        [sys.executable, "-m", "mlops_blueprint.scripts.cli", "verify", str(VISION), "--env", "dev"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert p.returncode == 3, p.stderr
    assert "no cloud credentials" in p.stderr and "gcloud auth application-default login" in p.stderr
    assert "Traceback" not in p.stderr
