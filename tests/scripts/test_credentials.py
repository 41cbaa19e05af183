"""Missing credentials, in every form a CI job presents them, end every cloud's plan, verify, rollout and
drift in the plain credentials message and exit 3: unset, set but empty (a fork's pull request gets no
secrets, and a workflow that names them sets them empty), or pointing at a profile or a file that does
not exist. The check runs before anything calls the cloud: these tests refuse every network connection."""

from __future__ import annotations

import re
import socket

import pytest
from typer.testing import CliRunner

from mlops_blueprint.blueprints import load
from mlops_blueprint.scripts import glue as glue_lib
from mlops_blueprint.scripts.cli import app
from tests.conftest import ROOT

REF = ROOT / "blueprints" / "reference"
BLUEPRINTS = {
    "aws": (REF / "starter.yaml", "fraud-api"),
    "gcp": (REF / "gcp-vision.yaml", "detector"),
    "azure": (REF / "azure-claims.yaml", "fraud-score"),
    "onprem": (REF / "onprem-research.yaml", "variants"),
}
CREDENTIAL_VARIABLE = re.compile(r"^(AWS_|GOOGLE_|CLOUDSDK_|GCE_|AZURE_|ARM_|IDENTITY_ENDPOINT|MSI_ENDPOINT|KUBE)")

# (cloud, form, variables): the forms each cloud's credentials come in from a CI job.
FORMS = [
    ("aws", "unset", {}),
    ("aws", "empty profile", {"AWS_PROFILE": ""}),
    ("aws", "unknown profile", {"AWS_PROFILE": "nope"}),
    ("aws", "empty keys", {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}),
    ("aws", "key without secret", {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}),
    ("aws", "missing credentials file", {"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}),
    ("aws", "missing web identity token", {"AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent", "AWS_ROLE_ARN": "x"}),
    ("gcp", "unset", {}),
    ("gcp", "empty file variable", {"GOOGLE_APPLICATION_CREDENTIALS": ""}),
    ("gcp", "missing file", {"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent"}),
    ("gcp", "a folder, not a file", {"GOOGLE_APPLICATION_CREDENTIALS": "/tmp"}),
    ("azure", "unset", {}),
    ("azure", "empty client id", {"AZURE_CLIENT_ID": ""}),
    ("azure", "empty secrets", {"AZURE_CLIENT_ID": "", "AZURE_TENANT_ID": "", "AZURE_CLIENT_SECRET": ""}),
    ("azure", "empty terraform secrets", {"ARM_CLIENT_ID": "", "ARM_CLIENT_SECRET": ""}),
    (
        "azure",
        "missing federated token",
        {"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t", "AZURE_FEDERATED_TOKEN_FILE": "/nonexistent"},
    ),
    ("azure", "half a principal", {"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t"}),
    ("onprem", "unset", {}),
    ("onprem", "missing kubeconfig", {"KUBECONFIG": "/nonexistent"}),
    ("onprem", "empty kubeconfig", {"KUBECONFIG": ""}),
    ("onprem", "missing provider kubeconfig", {"KUBE_CONFIG_PATH": "/nonexistent"}),
    ("onprem", "every listed kubeconfig missing", {"KUBECONFIG": "/nonexistent:/also-missing"}),
]
COMMANDS = ["plan", "verify", "rollout", "drift", "outputs"]


@pytest.fixture
def bare(monkeypatch, tmp_path):
    """No credential variable, a home without ~/.aws, ~/.config/gcloud, ~/.azure or ~/.kube, a machine
    that is no cloud's VM, and no network: a connection attempt fails the test."""
    import os

    for name in list(os.environ):
        if CREDENTIAL_VARIABLE.match(name):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(glue_lib, "machine_vendor", lambda path: "")
    from mlops_blueprint.scripts.glue import aws

    monkeypatch.setattr(aws, "machine_vendor", lambda path: "")

    def no_network(*args, **kwargs):
        raise AssertionError(f"a network call before the credentials check: {args}")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    return tmp_path


def args_for(command: str, cloud: str) -> list[str]:
    path, endpoint = BLUEPRINTS[cloud]
    env = next(iter(load(path).envs))
    extra = ["--endpoint", endpoint, "--image-tag", "v2"] if command == "rollout" else []
    return [command, str(path), "--env", env, *extra]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("cloud", "form", "variables"), FORMS, ids=[f"{c}-{f}" for c, f, _ in FORMS])
def test_missing_credentials_end_in_the_plain_message_and_exit_3(bare, monkeypatch, command, cloud, form, variables):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, args_for(command, cloud))
    text = result.output
    assert result.exit_code == 3, (result.exit_code, text, result.exception)
    assert "no cloud credentials: " in text, text
    assert "Traceback" not in text and not isinstance(result.exception, AssertionError), text
    first = text.split("no cloud credentials: ", 1)[1].splitlines()[0]
    for name, value in variables.items():  # the message names the variable that is wrong, when one is
        if not value or value.startswith("/") or value == "nope":
            assert name in first or value in first, first
            break
    assert "hint: " in text  # how to give this cloud credentials


def test_a_cloud_machine_counts_as_a_source_without_asking_its_metadata_service(bare, monkeypatch):
    """On a cloud's own VM the metadata service may hold an identity: the check lets it through (the SDK
    asks the service later), still without a connection of its own."""
    from mlops_blueprint.scripts.glue import aws, azure, gcp

    monkeypatch.setattr(
        glue_lib, "machine_vendor", lambda path: {"product_name": "Google Compute Engine"}.get(path, "")
    )
    assert gcp.credentials_problem() is None
    monkeypatch.setattr(
        glue_lib, "machine_vendor", lambda path: azure.AZURE_ASSET_TAG if path == "chassis_asset_tag" else ""
    )
    assert azure.credentials_problem() is None
    assert aws.credentials_problem().startswith("none found")  # the IMDS is not asked off EC2


def test_present_credentials_pass_the_check(bare, monkeypatch, tmp_path):
    """What a configured CI job or laptop presents passes: keys in the environment, a profile in the
    shared files, gcloud's ADC file, a service principal, `az login`, a kubeconfig."""
    import json

    from mlops_blueprint.scripts.glue import aws, azure, gcp, onprem

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert aws.credentials_problem() is None
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text("[team]\naws_access_key_id = A\naws_secret_access_key = B\n")
    monkeypatch.setenv("AWS_PROFILE", "team")
    assert aws.credentials_problem() is None

    adc = tmp_path / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True)
    adc.write_text(
        json.dumps({"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"})
    )
    assert gcp.credentials_problem() is None
    adc.write_text("<html>not json</html>")
    assert "is not a credentials file" in gcp.credentials_problem()

    assert azure.credentials_problem().startswith("none found (no AZURE_CLIENT_ID")
    (tmp_path / ".azure").mkdir()
    (tmp_path / ".azure" / "azureProfile.json").write_text('\ufeff{"subscriptions": [{"id": "x"}]}')
    assert azure.credentials_problem() is None
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "elsewhere"))
    assert "no `az login`" in azure.credentials_problem()  # the login lives where AZURE_CONFIG_DIR no longer points
    for name, value in {"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_SECRET": "s"}.items():
        monkeypatch.setenv(name, value)
    assert azure.credentials_problem() is None

    assert onprem.credentials_problem() == (
        f"no kubeconfig at {tmp_path / '.kube' / 'config'} (and neither KUBE_CONFIG_PATH nor KUBECONFIG names one)"
    )
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\n")
    assert onprem.credentials_problem() is None
    monkeypatch.setenv("KUBECONFIG", f"/nonexistent:{tmp_path / '.kube' / 'config'}")
    assert onprem.credentials_problem() is None  # one file of a list is enough, as for kubectl
