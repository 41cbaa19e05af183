"""The Azure glue (rollout, verify) against a recording fake of azure-ai-ml's MLClient operations.

The glue builds real azure-ai-ml entities; the fake records each request (entities as their
serialized fields) and only answers, so the tests compare the exact requests. What this proves:
the glue sends the right entities in the right order for the blueprint, and reads back the right
fields. What it does not prove: that Azure ML accepts them (no Azure ML emulator exists)."""

from __future__ import annotations

import json

import pytest
from azure.ai.ml.entities import (
    CustomerManagedKey,
    DataCollector,
    DeploymentCollection,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    Workspace,
)
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from mlops_blueprint.blueprints import loads
from mlops_blueprint.scripts.glue import RolloutError
from mlops_blueprint.scripts.glue.azure import deployment_name, model_version, rollout_with, verify_with

BLUEPRINT = """\
apiVersion: mlops.blueprint/v1
kind: Blueprint
metadata: {name: churn, owner: ml@example.com, cost_center: cc-1}
target: {cloud: azure, region: westeurope, subscription_id: 00000000-0000-0000-0000-000000000000}
components:
  registry: {models: [scorer, ranker]}
  serving:
    endpoints:
      scorer: {model: scorer, size: cpu-medium, min_replicas: 2, max_replicas: 4, capture_percent: 20}
      ranker: {model: ranker, size: gpu-small, capture_requests: false, private: false}
environments:
  dev: {protect_stateful: false}
"""
SCORER, RANKER, WORKSPACE = "churn-dev-scorer", "churn-dev-ranker", "mlw-churn-dev"
KEY_URI = "https://kv-churn-dev.vault.azure.net/keys/cmk-ml"
# The container contract of modules/serving/azure.py's `primary` deployment.
ROUTES = {
    "liveness_route": {"port": 8080, "path": "/health"},
    "readiness_route": {"port": 8080, "path": "/ready"},
    "scoring_route": {"port": 8080, "path": "/score"},
}
CAPTURE = {"collections": {"model_inputs": {"enabled": "true"}, "model_outputs": {"enabled": "true"}}}


def plain(entity) -> dict:
    """An azure-ai-ml entity's fields as plain JSON values (OrderedDicts flattened)."""
    return json.loads(json.dumps(entity._to_dict()))


class Done:
    def __init__(self, value):
        self.value = value

    def result(self, timeout=None):
        return self.value


class Ops:
    def __init__(self, fake, group):
        self.fake, self.group = fake, group

    def record(self, op, request):
        self.fake.calls.append((f"{self.group}.{op}", request))


class Models(Ops):
    def create_or_update(self, model):
        self.record("create_or_update", plain(model))
        return model

    def list(self, name):
        self.record("list", name)
        return iter(self.fake.model_versions.get(name, []))


class Deployments(Ops):
    def begin_create_or_update(self, deployment):
        self.record("begin_create_or_update", plain(deployment))
        return Done(deployment)

    def list(self, endpoint_name):
        self.record("list", endpoint_name)
        return iter(self.fake.deployments.get(endpoint_name, []))


class Endpoints(Ops):
    def get(self, name):
        self.record("get", name)
        if name not in self.fake.endpoints:
            raise ResourceNotFoundError(f"endpoint {name} not found")
        return self.fake.endpoints[name]

    def begin_create_or_update(self, endpoint):
        self.record("begin_create_or_update", {"name": endpoint.name, "traffic": dict(endpoint.traffic)})
        return Done(endpoint)


class Workspaces(Ops):
    def get(self, name):
        self.record("get", name)
        return Workspace(name=name, customer_managed_key=self.fake.cmk)


class FakeML:
    """The MLClient operations the glue uses, in one recorder."""

    def __init__(
        self,
        endpoints=(),
        deployments=None,
        model_versions=None,
        cmk=CustomerManagedKey(key_vault="/subscriptions/0/kv", key_uri=KEY_URI),
    ):
        self.calls: list[tuple[str, object]] = []
        self.endpoints = {e.name: e for e in endpoints}
        self.deployments = deployments or {}
        self.model_versions = model_versions or {}
        self.cmk = cmk
        self.models, self.online_deployments = Models(self, "models"), Deployments(self, "online_deployments")
        self.online_endpoints, self.workspaces = Endpoints(self, "online_endpoints"), Workspaces(self, "workspaces")

    def names(self):
        return [c[0] for c in self.calls]


def endpoint(name=SCORER, traffic=None, access="Disabled", auth="aad_token"):
    # The service answers "Disabled"/"Enabled"; the SDK maps AADToken back to aad_token.
    return ManagedOnlineEndpoint(name=name, auth_mode=auth, public_network_access=access, traffic=dict(traffic or {}))


def deployment(name, ep=SCORER, capture=True):
    collector = (
        DataCollector(
            collections={
                "model_inputs": DeploymentCollection(enabled="true"),
                "model_outputs": DeploymentCollection(enabled="true"),
            }
        )
        if capture
        else None
    )
    return ManagedOnlineDeployment(name=name, endpoint_name=ep, data_collector=collector)


@pytest.fixture(scope="module")
def dev():
    return loads(BLUEPRINT, "azure-churn.yaml").envs["dev"]


def test_the_blueprint_targets_azure(dev):
    assert dev.blueprint.target.cloud == "azure" and dev.blueprint.target.subscription_id.startswith("00000000")


def test_first_rollout_registers_the_tag_and_deploys_it_with_all_traffic(dev):
    fake = FakeML(endpoints=[endpoint()])
    result = rollout_with(dev, "scorer", "v1.0", 100, fake)
    assert fake.names() == [
        "online_endpoints.get",
        "models.create_or_update",
        "online_deployments.begin_create_or_update",
        "online_endpoints.begin_create_or_update",
    ]
    assert fake.calls[0][1] == SCORER
    assert fake.calls[1][1] == {
        "name": "scorer",
        "version": "v1.0",
        "type": "custom_model",
        "description": "scorer v1.0",
        "path": "azureml://datastores/workspaceblobstore/paths/scorer/v1.0/",
        "properties": {},
        "tags": {"image_tag": "v1.0"},
    }
    dep = fake.calls[2][1]
    assert dep.pop("environment") == {
        "name": SCORER,
        "version": "v1.0",
        "image": "acrchurndev.azurecr.io/scorer:v1.0",
        "inference_config": ROUTES,
        "tags": {},
    }
    assert dep == {
        "name": "v1-0",
        "endpoint_name": SCORER,
        "model": "azureml:scorer:v1.0",
        "type": "managed",
        "instance_type": "Standard_DS3_v2",
        "instance_count": 2,
        "egress_public_network_access": "disabled",
        "data_collector": {**CAPTURE, "sampling_rate": 0.2},
        "tags": {"image_tag": "v1.0"},
        "properties": {},
        "environment_variables": {},
        "app_insights_enabled": True,
    }
    assert fake.calls[3][1] == {"name": SCORER, "traffic": {"v1-0": 100}}
    assert result.endpoint == SCORER and result.version == "azureml:scorer:v1.0" and result.traffic == {"v1-0": 100}
    assert result.steps == [
        "registered model azureml:scorer:v1.0",
        f"deployed v1-0 on {SCORER} (Standard_DS3_v2 x 2)",
        f"set traffic on {SCORER}: v1-0 100%",
    ]


def test_canary_gives_the_new_deployment_its_share_and_scales_the_rest(dev):
    fake = FakeML(endpoints=[endpoint(traffic={"blue": 100})])
    result = rollout_with(dev, "scorer", "v2.0", 10, fake, artifact="azureml://datastores/elsewhere/paths/scorer-v2/")
    assert fake.calls[1][1]["path"] == "azureml://datastores/elsewhere/paths/scorer-v2/"
    assert fake.calls[1][1]["version"] == "v2.0" and fake.calls[2][1]["name"] == "v2-0"
    assert fake.calls[3][1] == {"name": SCORER, "traffic": {"blue": 90, "v2-0": 10}}
    assert result.traffic == {"blue": 90, "v2-0": 10} and result.version == "azureml:scorer:v2.0"


def test_promote_moves_all_traffic_to_the_new_deployment(dev):
    fake = FakeML(endpoints=[endpoint(traffic={"blue": 90, "v2-0": 10})])
    result = rollout_with(dev, "scorer", "v3.0", 100, fake)
    assert fake.calls[3][1] == {"name": SCORER, "traffic": {"v3-0": 100}}
    assert result.traffic == {"v3-0": 100}


def test_rolling_out_the_canary_tag_again_changes_its_share_only(dev):
    fake = FakeML(endpoints=[endpoint(traffic={"blue": 90, "v2-0": 10})])
    assert rollout_with(dev, "scorer", "v2.0", 50, fake).traffic == {"blue": 50, "v2-0": 50}


def test_a_public_gpu_endpoint_without_capture_deploys_without_a_collector(dev):
    fake = FakeML(endpoints=[endpoint(RANKER, access="Enabled")])
    rollout_with(dev, "ranker", "r7", 100, fake)
    dep = fake.calls[2][1]
    assert (dep["instance_type"], dep["instance_count"], dep["model"]) == (
        "Standard_NC4as_T4_v3",
        1,
        "azureml:ranker:r7",
    )
    assert "data_collector" not in dep and dep["egress_public_network_access"] == "disabled"


def test_rollout_refuses_unknown_endpoint_and_bad_share_before_any_call(dev):
    fake = FakeML(endpoints=[endpoint()])
    with pytest.raises(RolloutError, match="endpoint 'nope' is not in the blueprint; endpoints: scorer, ranker"):
        rollout_with(dev, "nope", "v1", 10, fake)
    with pytest.raises(RolloutError, match="between 1 and 100"):
        rollout_with(dev, "scorer", "v1", 0, fake)
    with pytest.raises(RolloutError, match="between 1 and 100"):
        rollout_with(dev, "scorer", "v1", 101, fake)
    assert fake.calls == []


def test_rollout_refuses_an_endpoint_not_deployed_yet_and_changes_nothing(dev):
    fake = FakeML(endpoints=[])
    with pytest.raises(RolloutError, match=f"endpoint {SCORER} does not exist in workspace {WORKSPACE}"):
        rollout_with(dev, "scorer", "v1", 10, fake)
    assert fake.names() == ["online_endpoints.get"]


@pytest.mark.parametrize(
    "tag, name, version",
    [
        ("v1.0", "v1-0", "v1.0"),
        ("2024.11.01", "v2024-11-01", "2024.11.01"),
        ("V_2", "v-2", "V_2"),
        ("v2", "tag-v2", "v2"),
        ("1", "tag-v1", "1"),
        (
            "release--candidate_with.a.very.long.name-1.2.3",
            "release-candidate-with-a-very-lo",
            "release--candidate_with.a.very.long.name-1.2.3",
        ),
    ],
)
def test_deployment_names_and_model_versions_follow_azure_rules(tag, name, version):
    import re

    assert deployment_name(tag) == name and re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{2,31}", name) and not name.endswith("-")
    assert model_version(tag) == version


def healthy():
    return FakeML(
        endpoints=[endpoint(traffic={"blue": 90, "v2": 10}), endpoint(RANKER, access="Enabled")],
        deployments={SCORER: [deployment("blue"), deployment("v2")], RANKER: [deployment("blue", RANKER, False)]},
        model_versions={"scorer": [Model(name="scorer", version="v1.0"), Model(name="scorer", version="v2")]},
    )


def test_verify_reads_back_endpoints_workspace_and_models(dev):
    fake = healthy()
    checks = verify_with(dev, fake)
    assert [(c.component, c.subject, c.ok) for c in checks] == [
        ("serving", "scorer", True),
        ("serving", "ranker", True),
        ("registry", WORKSPACE, True),
        ("registry", "scorer", True),
        ("registry", "ranker", True),
    ]
    detail = {(c.component, c.subject): c.detail for c in checks}
    assert detail[("serving", "scorer")] == f"{SCORER}: private, Entra ID tokens; blue 90%, v2 10%"
    assert detail[("serving", "ranker")] == f"{RANKER}: public, Entra ID tokens; nothing deployed yet"
    assert detail[("registry", WORKSPACE)] == f"encrypted with {KEY_URI}"
    assert detail[("registry", "scorer")] == "2 version(s): v1.0, v2"
    assert detail[("registry", "ranker")] == "no version yet (rollout registers the first)"
    assert fake.calls == [
        ("online_endpoints.get", SCORER),
        ("online_deployments.list", SCORER),
        ("online_endpoints.get", RANKER),
        ("workspaces.get", WORKSPACE),
        ("models.list", "scorer"),
        ("models.list", "ranker"),
    ]


def test_verify_fails_a_public_endpoint_capture_off_key_auth_and_no_cmk(dev):
    fake = healthy()
    fake.endpoints[SCORER] = endpoint(traffic={"blue": 100}, access="Enabled", auth="key")
    fake.deployments[SCORER] = [deployment("blue"), deployment("v2", capture=False)]
    fake.cmk = None
    checks = {(c.component, c.subject): c for c in verify_with(dev, fake)}
    scorer = checks[("serving", "scorer")]
    assert not scorer.ok
    assert (
        scorer.detail
        == "public network access Enabled, want Disabled; auth mode key, want aad_token; data collection off on v2"
    )
    assert checks[("serving", "ranker")].ok  # public and uncaptured, as its blueprint says
    ws = checks[("registry", WORKSPACE)]
    assert not ws.ok and ws.detail == "no customer-managed key (Microsoft-managed encryption)"


def test_verify_turns_sdk_errors_into_failed_checks(dev):
    fake = healthy()
    del fake.endpoints[SCORER]
    checks = {(c.component, c.subject): c for c in verify_with(dev, fake)}
    missing = checks[("serving", "scorer")]
    assert not missing.ok and missing.detail == f"ResourceNotFoundError: endpoint {SCORER} not found"
    assert checks[("serving", "ranker")].ok

    class Forbidden(Models):
        def list(self, name):
            raise HttpResponseError(message="Forbidden")

    fake.models = Forbidden(fake, "models")
    checks = {(c.component, c.subject): c for c in verify_with(dev, fake)}
    assert (
        checks[("registry", "scorer")].detail == "HttpResponseError: Forbidden"
        and not checks[("registry", "scorer")].ok
    )


def test_verify_lets_missing_credentials_through_for_the_pipeline(dev):
    fake = healthy()

    class NoCredentials(Endpoints):
        def get(self, name):
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")

    fake.online_endpoints = NoCredentials(fake, "online_endpoints")
    with pytest.raises(ClientAuthenticationError):
        verify_with(dev, fake)


def test_missing_azure_credentials_are_a_credential_error(monkeypatch):
    """No network: every credential that could reach out is excluded, and the environment holds none."""
    from azure.identity import CredentialUnavailableError, DefaultAzureCredential

    from mlops_blueprint.scripts.glue import azure

    for var in (
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_USERNAME",
        "AZURE_PASSWORD",
        "AZURE_FEDERATED_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    errors = azure.credential_errors()
    credential = DefaultAzureCredential(
        exclude_managed_identity_credential=True,
        exclude_workload_identity_credential=True,
        exclude_cli_credential=True,
        exclude_developer_cli_credential=True,
        exclude_powershell_credential=True,
        exclude_shared_token_cache_credential=True,
        exclude_visual_studio_code_credential=True,
        exclude_interactive_browser_credential=True,
        exclude_broker_credential=True,
    )
    with pytest.raises(errors) as raised:
        credential.get_token("https://management.azure.com/.default")
    assert isinstance(raised.value, ClientAuthenticationError) and "EnvironmentCredential" in str(raised.value)
    assert issubclass(CredentialUnavailableError, errors)
    assert "az login" in azure.CREDENTIALS_HINT


def test_cli_rollout_and_verify_on_azure_use_the_glue(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from mlops_blueprint.scripts.cli import app
    from mlops_blueprint.scripts.glue import azure as glue

    bp = tmp_path / "azure-churn.yaml"
    bp.write_text(BLUEPRINT)
    fake = healthy()
    monkeypatch.setattr(glue, "ml_client", lambda env: fake)
    monkeypatch.setattr(glue, "credentials_problem", lambda: None)  # as on a machine with credentials
    r = CliRunner().invoke(
        app, ["rollout", str(bp), "--env", "dev", "--endpoint", "scorer", "--image-tag", "v3.1", "--traffic", "20"]
    )
    assert r.exit_code == 0, r.output
    assert "blue 72%, v2 8%, v3-1 20%" in r.output
    r = CliRunner().invoke(app, ["verify", str(bp), "--env", "dev"])
    assert r.exit_code == 0 and "5/5 checks passed" in r.output, r.output

    class NoCredentials(Endpoints):
        def get(self, name):
            raise ClientAuthenticationError(
                "DefaultAzureCredential failed to retrieve a token from the included credentials."
            )

    fake.online_endpoints = NoCredentials(fake, "online_endpoints")
    r = CliRunner().invoke(app, ["verify", str(bp), "--env", "dev"])
    assert r.exit_code == 3, r.output
    assert "no cloud credentials" in r.output and "az login" in r.output and "Traceback" not in r.output
