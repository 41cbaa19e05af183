"""Azure bad input: each unmappable or Azure-invalid choice is a clear error at the field (file:line)."""

import pytest

from mlops_blueprint.blueprints import BlueprintError, load
from tests.conftest import MINIMAL

SUB = "00000000-0000-0000-0000-000000000000"
AZURE = MINIMAL.replace(
    "target: {cloud: aws, region: eu-central-1}",
    f"target: {{cloud: azure, region: westeurope, subscription_id: {SUB}}}",
).replace("accelerator: nvidia-a10g", "accelerator: nvidia-t4")


def problems(path):
    with pytest.raises(BlueprintError) as exc:
        load(path)
    return [(str(p).split(":")[0], p.line, p.path, p.message) for p in exc.value.problems]


def test_the_azure_minimal_blueprint_is_valid(write):
    bp = load(write(AZURE)).envs["dev"].blueprint
    assert (bp.target.cloud, bp.target.subscription_id) == ("azure", SUB)
    assert bp.state.backend_for("azure") == "azurerm"


@pytest.mark.parametrize(
    "accelerator, nearest",
    [("nvidia-l4", "nvidia-t4"), ("nvidia-a10g", "nvidia-t4"), ("google-tpu-v5e", "nvidia-a100")],
)
def test_what_azure_lacks_names_the_nearest(write, accelerator, nearest):
    [(f, line, path, msg)] = problems(write(AZURE.replace("nvidia-t4", accelerator)))
    assert (f.endswith("bp.yaml"), line, path) == (True, 9, "components.training.pools.gpu.accelerator")
    assert f"not available on azure (the nearest is {nearest})" in msg
    assert "allowed: nvidia-t4, nvidia-a100, nvidia-h100" in msg


def test_gpu_count_the_size_lacks(write):
    [(_, line, path, msg)] = problems(
        write(AZURE.replace("accelerator: nvidia-t4", "accelerator: nvidia-t4, gpus_per_node: 2"))
    )
    assert (line, path) == (9, "components.training.pools.gpu.gpus_per_node")
    assert "nvidia-t4 on azure comes with 1, 4 accelerators per node, not 2" in msg


def test_missing_subscription(write):
    [(_, line, path, msg)] = problems(write(AZURE.replace(f", subscription_id: {SUB}", "")))
    assert (line, path) == (4, "target")
    assert "target.subscription_id is required when target.cloud is azure" in msg


def test_malformed_subscription(write):
    [(_, line, path, msg)] = problems(write(AZURE.replace(SUB, "my-subscription")))
    assert (line, path) == (4, "target.subscription_id") and "should match pattern" in msg


def test_fields_of_another_cloud(write):
    found = problems(
        write(
            AZURE.replace(
                "region: westeurope", "region: westeurope, project_id: acme-ml-dev, account_id: '123456789012'"
            )
        )
    )
    assert {(p, m) for _, _, p, m in found} == {
        ("target.project_id", "target.project_id belongs to gcp, not azure; remove it when retargeting"),
        ("target.account_id", "target.account_id belongs to aws, not azure; remove it when retargeting"),
    }


def test_a_region_azure_lacks_names_the_regions(write):
    [(_, line, path, msg)] = problems(write(AZURE.replace("westeurope", "eu-central-1")))
    assert (line, path) == (4, "target.region") and "not supported for azure; allowed: eastus" in msg


def test_storage_account_names_are_24_lowercase_alphanumerics(write):
    long = AZURE.replace("name: demo", "name: claims-fraud-platform").replace(
        "  dev: {protect_stateful: false}", "  staging: {protect_stateful: false}"
    )
    found = problems(write(long))
    lake = [m for _, _, p, m in found if "claimsfraudplatformstagingdl" in m]
    assert (
        lake
        and "Azure storage account name 'claimsfraudplatformstagingdl' is 28 characters; Azure allows 3 to 24"
        in lake[0]
    )
    assert {p for _, _, p, _ in found} == {"metadata.name", "components.serving.endpoints.api"}
    assert {line for _, line, p, _ in found if p == "metadata.name"} == {3}  # metadata.name's line
    assert any("storage account name 'claimsfraudplatformstagingtf'" in m for _, _, _, m in found)  # the state account


def test_key_vault_names_are_24_characters(write):
    found = problems(write(AZURE.replace("name: demo", "name: claims-fraud-scores")))
    assert any(
        p == "metadata.name" and "Azure Key Vault name 'kv-claims-fraud-scores-dev' is 26 characters" in m
        for _, _, p, m in found
    )


def test_node_pool_names_are_12_lowercase_alphanumerics(write):
    [(_, line, path, msg)] = problems(write(AZURE.replace("      gpu: {", "      gpu-training-pool: {")))
    assert (line, path) == (9, "components.training.pools.gpu-training-pool")
    assert "AKS node pool name 'gputrainingpool' must be 1 to 12 lowercase letters and digits" in msg


def test_state_backend_of_another_cloud(write):
    [(_, _, path, msg)] = problems(write(AZURE + "state: {backend: gcs}\n"))
    assert path == "state.backend" and "does not belong to azure; use 'azurerm'" in msg
