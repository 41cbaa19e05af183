"""GCP bad input: each unmappable or GCP-invalid choice is a clear error at the field that caused it."""

import pytest

from mlops_blueprint.blueprints import BlueprintError, load
from tests.conftest import MINIMAL

GCP = MINIMAL.replace(
    "target: {cloud: aws, region: eu-central-1}", "target: {cloud: gcp, region: europe-west4, project_id: acme-ml-dev}"
).replace("accelerator: nvidia-a10g", "accelerator: nvidia-l4")


def problems(path):
    with pytest.raises(BlueprintError) as exc:
        load(path)
    return [(p.line, p.path, p.message) for p in exc.value.problems]


def test_the_gcp_minimal_blueprint_is_valid(write):
    bp = load(write(GCP)).envs["dev"].blueprint
    assert (bp.target.cloud, bp.target.project_id) == ("gcp", "acme-ml-dev")
    assert bp.state.backend_for("gcp") == "gcs"


def test_unmappable_accelerator_names_what_gcp_allows_and_the_nearest(write):
    [(line, path, msg)] = problems(write(GCP.replace("nvidia-l4", "nvidia-a10g")))
    assert (line, path) == (9, "components.training.pools.gpu.accelerator")
    assert "not available on gcp (the nearest is nvidia-l4)" in msg
    assert "allowed: nvidia-t4, nvidia-l4, nvidia-a100, nvidia-h100, google-tpu-v5e" in msg


def test_tpu_is_unmappable_on_aws(write):
    [(_, path, msg)] = problems(write(MINIMAL.replace("nvidia-a10g", "google-tpu-v5e")))
    assert (
        path == "components.training.pools.gpu.accelerator" and "not available on aws (the nearest is nvidia-l4)" in msg
    )


def test_region_without_the_accelerator_names_the_regions_that_have_it(write):
    text = GCP.replace("europe-west4", "europe-west3").replace(
        "accelerator: nvidia-l4", "accelerator: nvidia-a100, gpus_per_node: 8"
    )
    [(_, path, msg)] = problems(write(text))
    assert path == "components.training.pools.gpu.accelerator"
    assert "not offered in gcp region europe-west3" in msg and "regions that have it: us-central1" in msg


def test_missing_project_id(write):
    [(line, path, msg)] = problems(write(GCP.replace(", project_id: acme-ml-dev", "")))
    assert (line, path) == (4, "target") and "target.project_id is required when target.cloud is gcp" in msg


def test_service_account_id_too_long_names_the_rule(write):
    text = GCP.replace("name: demo,", "name: computer-vision-lab,").replace(
        "dev: {protect_stateful: false}", "production: {protect_stateful: false}"
    )
    found = problems(write(text))
    assert found and all(p == "metadata.name" for _, p, _ in found)
    assert any(
        "GCP service account id 'computer-vision-lab-production-data-eng' is 39 characters; GCP allows 6 to 30" in m
        for _, _, m in found
    )


def test_gcs_bucket_names_may_not_contain_google(write):
    text = GCP.replace("zones: [raw, curated]", "zones: [raw, google]")
    found = problems(write(text))
    assert "components.data_lake.zones" in {p for _, p, _ in found}
    assert any("GCS bucket name 'demo-dev-google' breaks a Cloud Storage reserved rule" in m for _, _, m in found)


def test_aws_only_fields_are_refused_on_gcp(write):
    text = GCP.replace("project_id: acme-ml-dev}", "project_id: acme-ml-dev, account_id: '123456789012'}")
    [(_, path, msg)] = problems(write(text))
    assert path == "target.account_id" and "belongs to aws, not gcp" in msg


def test_state_backend_of_another_cloud_is_refused(write):
    [(_, path, msg)] = problems(write(GCP + "state: {backend: s3}\n"))
    assert path == "state.backend" and "use 'gcs' or omit state.backend" in msg


def test_allowed_regions_may_name_every_cloud_but_not_unknown_regions(write):
    ok = load(write(GCP + "policies: {allowed_regions: [eu-central-1, europe-west4]}\n"))
    assert ok.base.policies.allowed_regions == ["eu-central-1", "europe-west4"]
    [(_, path, msg)] = problems(write(GCP + "policies: {allowed_regions: [europe-west9]}\n", name="bad.yaml"))
    assert path == "policies.allowed_regions[0]" and "not a region of any supported cloud" in msg


def test_gpu_sizes_and_tpu_chips_map_on_gcp(write):
    from mlops_blueprint.blueprints import registry

    gcp = registry.get("gcp").catalog
    assert gcp.training_instance("google-tpu-v5e", 4) == "ct5lp-hightpu-4t"
    assert gcp.accelerator_types["google-tpu-v5e"] is None
    assert gcp.serving_instance("gpu-small") == "g2-standard-4"
    [(_, path, msg)] = problems(
        write(
            GCP.replace("accelerator: nvidia-l4", "accelerator: nvidia-l4, gpus_per_node: 8").replace(
                "nvidia-l4, gpus_per_node: 8", "nvidia-t4, gpus_per_node: 8"
            )
        )
    )
    assert (
        path == "components.training.pools.gpu.gpus_per_node"
        and "comes with 1, 2, 4 accelerators per node, not 8" in msg
    )


def test_cron_is_cloud_neutral(write):
    from mlops_blueprint.modules.aws_common import aws_cron

    text = GCP.replace(
        "  registry:",
        "  catalog: {databases: {sales: {zones: [raw]}}, crawl_schedule: 'cron(0 3 * * ? *)'}\n  registry:",
    )
    [(_, path, msg)] = problems(write(text))
    assert path == "components.catalog.crawl_schedule" and "a 5-field cron (minute hour day month weekday)" in msg
    assert "it has 6 fields" in msg and "(?:" not in msg  # what is wrong, not the pattern
    assert aws_cron("0 3 * * *") == "cron(0 3 * * ? *)" and aws_cron("15 2 * * MON-FRI") == "cron(15 2 ? * MON-FRI *)"
