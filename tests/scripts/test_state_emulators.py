"""The state backends against real storage emulators (tests/emulators): Azurite for the Azure
bootstrap's data plane, gcp-storage-emulator (with generation preconditions) for the GCS bootstrap
and for Terraform's own gcs backend: init, apply, a clean plan, and its lock.

What this proves: the bootstrap's SDK calls work against a real HTTP service, the resulting bucket /
container reads back as promised, and Terraform stores and locks its state in it. What it does not:
anything the emulators don't implement (Azure Entra ID auth, soft delete, versioning history, network
rules; GCS IAM). The Azure management half (resource group, account settings) is a recording fake.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.storage import models as sm

from mlops_blueprint.blueprints import load, loads
from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.scripts.glue.azure import bootstrap_state_with as bootstrap_azure
from mlops_blueprint.scripts.glue.gcp import bootstrap_state_with as bootstrap_gcs
from tests.conftest import ROOT
from tests.emulators import azurite as azurite_emulator
from tests.emulators.gcs import gcs_emulator, storage_client

AZURE = """\
apiVersion: mlops.blueprint/v1
kind: Blueprint
metadata: {name: churn, owner: ml@example.com, cost_center: cc-1}
target: {cloud: azure, region: westeurope, subscription_id: 00000000-0000-0000-0000-000000000000}
components:
  registry: {models: [scorer]}
environments:
  dev: {protect_stateful: false}
"""
VISION = ROOT / "blueprints/reference/gcp-vision.yaml"


# ------------------------------------------------------------------------------------------ Azure


@pytest.fixture
def azurite(tmp_path):
    """A fresh, empty Azurite per test (it starts in about a second)."""
    if azurite_emulator.npm() is None:
        pytest.skip("npm is not on PATH: Azurite (the Azure Storage emulator) installs from the npm registry")
    with azurite_emulator.azurite_blob(tmp_path) as conn:
        yield conn


@pytest.fixture(scope="module")
def churn():
    return loads(AZURE, "azure-churn.yaml").envs["dev"]


class Done:
    def __init__(self, value):
        self.value = value

    def result(self, timeout=None):
        return self.value


class FakeArm:
    """ResourceManagementClient.resource_groups and StorageManagementClient.storage_accounts /
    blob_services in one recorder; the requests are kept as the REST bodies the SDK would send."""

    def __init__(self, name_available=True):
        self.calls: list[tuple] = []
        self.groups: set[str] = set()
        self.accounts: set[tuple[str, str]] = set()
        self.blob_properties: dict[tuple[str, str], sm.BlobServiceProperties] = {}
        self.name_available = name_available
        self.resource_groups = self.storage_accounts = self.blob_services = self

    def writes(self):
        return [c for c in self.calls if c[0] in ("create_or_update", "begin_create", "set_service_properties")]

    # resource_groups
    def check_existence(self, name):
        return name in self.groups

    def create_or_update(self, name, group):
        self.calls.append(("create_or_update", name, dict(group)))
        self.groups.add(name)

    # storage_accounts
    def get_properties(self, group, account):
        if (group, account) not in self.accounts:
            raise ResourceNotFoundError(f"storage account {account} not found")
        return sm.StorageAccount(location="westeurope")

    def check_name_availability(self, params):
        self.calls.append(("check_name_availability", dict(params)))
        if self.name_available:
            return sm.CheckNameAvailabilityResult(name_available=True)
        return sm.CheckNameAvailabilityResult(name_available=False, reason="AlreadyExists", message="taken")

    def begin_create(self, group, account, params):
        assert group in self.groups, "the account's resource group must exist first"
        self.calls.append(("begin_create", group, account, json.loads(json.dumps(params.as_dict()))))
        self.accounts.add((group, account))
        return Done(sm.StorageAccount(location=params.location))

    # blob_services
    def get_service_properties(self, group, account):
        return self.blob_properties.get((group, account), sm.BlobServiceProperties())

    def set_service_properties(self, group, account, params):
        self.calls.append(("set_service_properties", group, account, dict(params)))
        self.blob_properties[(group, account)] = params


STATE_ACCOUNT_BODY = {
    "location": "westeurope",
    "kind": "StorageV2",
    "sku": {"name": "Standard_ZRS"},
    "tags": {"managed-by": "mlops-blueprint", "blueprint": "churn", "environment": "dev"},
    "properties": {
        "supportsHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": False,
        "defaultToOAuthAuthentication": True,
        "allowCrossTenantReplication": False,
        "publicNetworkAccess": "Enabled",
    },
}


def test_azure_state_bootstrap_creates_group_account_and_container_once(churn, azurite):
    from azure.storage.blob import BlobServiceClient

    blobs = BlobServiceClient.from_connection_string(azurite)
    arm, said = FakeArm(), []
    bootstrap_azure(churn, arm, arm, blobs, said.append)
    bootstrap_azure(churn, arm, arm, blobs, said.append)

    group, account = "rg-churn-dev-tfstate", "churndevtf"
    assert arm.writes() == [
        ("create_or_update", group, {"location": "westeurope", "tags": STATE_ACCOUNT_BODY["tags"]}),
        ("begin_create", group, account, STATE_ACCOUNT_BODY),
        (
            "set_service_properties",
            group,
            account,
            {
                "properties": {
                    "isVersioningEnabled": True,
                    "deleteRetentionPolicy": {"enabled": True, "days": 30},
                    "containerDeleteRetentionPolicy": {"enabled": True, "days": 30},
                }
            },
        ),
    ]
    assert ("check_name_availability", {"name": account, "type": "Microsoft.Storage/storageAccounts"}) in arm.calls
    assert said == [
        f"creating state resource group {group}",
        f"creating state storage account {account}",
        f"enabling blob versioning and 30-day soft delete on {account}",
        f"creating state container tfstate in {account}",
    ]
    # What Azurite holds: one container, with its metadata (names are C# identifiers: no hyphen), created once.
    containers = [c for c in blobs.list_containers(include_metadata=True)]
    assert [(c.name, c.metadata) for c in containers] == [("tfstate", {"managed_by": "mlops-blueprint"})]


def test_azure_state_bootstrap_repairs_an_account_left_without_versioning(churn, azurite):
    from azure.storage.blob import BlobServiceClient

    blobs = BlobServiceClient.from_connection_string(azurite)
    blobs.create_container("tfstate")
    arm = FakeArm()
    arm.groups.add("rg-churn-dev-tfstate")
    arm.accounts.add(("rg-churn-dev-tfstate", "churndevtf"))
    arm.blob_properties[("rg-churn-dev-tfstate", "churndevtf")] = sm.BlobServiceProperties(
        is_versioning_enabled=True, delete_retention_policy=sm.DeleteRetentionPolicy(enabled=True, days=7)
    )
    said: list[str] = []
    bootstrap_azure(churn, arm, arm, blobs, said.append)
    assert [c[0] for c in arm.writes()] == ["set_service_properties"]
    assert said == ["enabling blob versioning and 30-day soft delete on churndevtf"]  # the container was already there


def test_azure_state_bootstrap_stops_on_a_taken_account_name_and_a_missing_data_role(churn):
    arm = FakeArm(name_available=False)
    with pytest.raises(UserError, match="'churndevtf' is taken") as raised:
        bootstrap_azure(churn, arm, arm, None, lambda _: None)
    assert "state.bucket" in raised.value.hint and not [c for c in arm.writes() if c[0] == "begin_create"]

    class Forbidden:
        def get_container_client(self, name):
            return self

        def exists(self):
            exc = HttpResponseError(
                message="This request is not authorized to perform this operation using this permission."
            )
            exc.status_code, exc.reason = 403, "AuthorizationPermissionMismatch"
            raise exc

    with pytest.raises(UserError, match="AuthorizationPermissionMismatch") as raised:
        arm = FakeArm()
        bootstrap_azure(churn, arm, arm, Forbidden(), lambda _: None)
    assert "Storage Blob Data Contributor" in raised.value.hint


# -------------------------------------------------------------------------------------------- GCS


@pytest.fixture(scope="module")
def gcs(tmp_path_factory):
    with gcs_emulator(tmp_path_factory.mktemp("gcs")) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def vision():
    return load(VISION).envs["dev"]


@pytest.fixture(scope="module")
def state_bucket(gcs, vision):
    """The state bucket, made by the real bootstrap; returns (client, name)."""
    client, said = storage_client(gcs), []
    bootstrap_gcs(vision, client, said.append)
    bootstrap_gcs(vision, client, said.append)
    assert said == ["creating state bucket gs://vision-dev-tfstate"]
    return client, "vision-dev-tfstate"


def test_gcs_state_bootstrap_reads_back_versioned_uniform_and_private(state_bucket):
    client, name = state_bucket
    bucket = client.get_bucket(name)
    assert (
        bucket.versioning_enabled,
        bucket.iam_configuration.uniform_bucket_level_access_enabled,
        bucket.iam_configuration.public_access_prevention,
    ) == (True, True, "enforced")
    assert [b.name for b in client.list_buckets()] == [name]


def test_the_emulator_refuses_writes_whose_generation_precondition_fails(gcs, state_bucket):
    from google.api_core.exceptions import PreconditionFailed

    client, name = state_bucket
    blob = client.bucket(name).blob("probe/lock")
    blob.upload_from_string(b"one", if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        client.bucket(name).blob("probe/lock").upload_from_string(b"two", if_generation_match=0)
    blob.reload()
    with pytest.raises(PreconditionFailed):
        blob.delete(if_generation_match=int(blob.generation) + 1)
    blob.delete(if_generation_match=blob.generation)
    assert list(client.list_blobs(name, prefix="probe/")) == []


def terraform(cwd: Path, *args: str, wait: bool = True):
    binary = shutil.which("terraform")
    assert binary, "terraform is not on PATH"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_", "GCE_", "TF_"))}
    env.update(TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_INPUT="0")
    cmd = [binary, *args, "-no-color"]
    if wait:
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def workdir(path: Path, gcs: str, bucket: str, prefix: str, resource: dict) -> Path:
    """A config with the gcs backend on the emulator and one built-in `terraform_data` (no providers)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "main.tf.json").write_text(
        json.dumps(
            {
                "terraform": {
                    "backend": {
                        "gcs": {
                            "bucket": bucket,
                            "prefix": prefix,
                            "storage_custom_endpoint": f"{gcs}/storage/v1/",  # the trailing slash matters
                            "access_token": "emulator",
                        }
                    }
                },  # any token: keeps ADC out of it
                "resource": {"terraform_data": {"marker": resource}},
                "output": {"marker": {"value": "${terraform_data.marker.output}"}},
            }
        )
    )
    return path


def test_terraform_keeps_its_state_in_the_gcs_backend(gcs, state_bucket, tmp_path):
    client, bucket = state_bucket
    tf = workdir(tmp_path / "tf", gcs, bucket, "stacks/vision-dev", {"input": "hello"})
    for args in (
        ("init", "-input=false"),
        ("apply", "-auto-approve", "-input=false"),
        ("plan", "-input=false", "-detailed-exitcode"),
    ):  # plan exit 0: no changes
        r = terraform(tf, *args)
        assert r.returncode == 0, f"terraform {args[0]}:\n{r.stdout}\n{r.stderr}"
    names = {b.name for b in client.list_blobs(bucket, prefix="stacks/vision-dev/")}
    assert names == {"stacks/vision-dev/default.tfstate"}  # the lock is gone too
    state = json.loads(client.bucket(bucket).blob("stacks/vision-dev/default.tfstate").download_as_bytes())
    assert state["outputs"]["marker"]["value"] == "hello"
    assert not (tf / "terraform.tfstate").exists()


def test_a_concurrent_apply_fails_on_the_gcs_lock_and_waits_with_lock_timeout(gcs, state_bucket, tmp_path):
    client, bucket = state_bucket
    prefix = "stacks/locked"
    first = workdir(
        tmp_path / "a", gcs, bucket, prefix, {"input": "first", "provisioner": [{"local-exec": {"command": "sleep 8"}}]}
    )
    second = workdir(tmp_path / "b", gcs, bucket, prefix, {"input": "second"})
    for d in (first, second):
        r = terraform(d, "init", "-input=false")
        assert r.returncode == 0, r.stdout + r.stderr

    holder = terraform(first, "apply", "-auto-approve", "-input=false", wait=False)
    lock = client.bucket(bucket).blob(f"{prefix}/default.tflock")
    try:
        deadline = time.monotonic() + 60
        while not lock.exists():
            assert holder.poll() is None and time.monotonic() < deadline, "the first apply never took the lock"
            time.sleep(0.1)

        refused = terraform(second, "apply", "-auto-approve", "-input=false")
        assert holder.poll() is None, "the first apply must still hold the lock for this check to mean anything"
        assert refused.returncode == 1
        assert "Error acquiring the state lock" in refused.stderr and "conditionNotMet" in refused.stderr, (
            refused.stderr
        )

        waited = terraform(second, "apply", "-auto-approve", "-input=false", "-lock-timeout=120s")
        assert waited.returncode == 0, waited.stdout + waited.stderr
    finally:
        out, _ = holder.communicate(timeout=120)
    assert holder.returncode == 0, out
    # Without the wait the quick second apply would have written first and the sleeping one last.
    state = json.loads(client.bucket(bucket).blob(f"{prefix}/default.tfstate").download_as_bytes())
    assert state["outputs"]["marker"]["value"] == "second"
    assert not lock.exists()
