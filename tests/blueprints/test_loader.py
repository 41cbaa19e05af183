"""The loader: valid documents, overlays, and every kind of bad input with its exact location."""

import pytest

from mlops_blueprint.blueprints import BlueprintError, load
from tests.conftest import MINIMAL


def problems(path):
    with pytest.raises(BlueprintError) as exc:
        load(path)
    return [(p.line, p.col, p.path, p.message) for p in exc.value.problems]


def test_minimal_blueprint_loads_with_secure_defaults(write):
    lb = load(write(MINIMAL))
    bp = lb.envs["dev"].blueprint
    assert bp.components.data_lake.versioning is True
    assert bp.components.registry.immutable_tags is True
    assert bp.components.serving.endpoints["api"].capture_requests is True
    assert bp.components.training.pools["gpu"].min_nodes == 0
    assert bp.metadata.data_classification == "confidential"
    assert lb.envs["dev"].settings.protect_stateful is False


def test_environment_protects_stateful_resources_unless_told_otherwise(write):
    lb = load(write(MINIMAL.replace("dev: {protect_stateful: false}", "prod: {}")))
    assert lb.envs["prod"].settings.protect_stateful is True


def test_overlay_changes_only_its_environment(write):
    text = MINIMAL.replace(
        "  dev: {protect_stateful: false}\n",
        """\
  dev:
    overrides: {components.training.pools.gpu.max_nodes: 1, baseline.budget.monthly_limit_usd: 50}
  prod: {}
""",
    )
    lb = load(write(text))
    assert lb.envs["dev"].blueprint.components.training.pools["gpu"].max_nodes == 1
    assert lb.envs["dev"].blueprint.baseline.budget.monthly_limit_usd == 50
    assert lb.envs["prod"].blueprint.components.training.pools["gpu"].max_nodes == 2
    assert lb.envs["prod"].blueprint.baseline.budget.monthly_limit_usd == 1000


def test_yaml_syntax_error_names_line_and_column(write):
    p = write(MINIMAL.replace("cost_center: cc-1}", "cost_center: [cc-1}"))
    [(line, col, path, msg)] = problems(p)
    assert (line, path) == (3, "")
    assert msg.startswith("YAML syntax error")


def test_unknown_field_points_at_the_key_and_lists_allowed_fields(write):
    p = write(MINIMAL.replace("data_lake: {zones: [raw, curated]}", "data_lake: {zones: [raw, curated], colour: blue}"))
    [(line, col, path, msg)] = problems(p)
    assert (line, col, path) == (6, 38, "components.data_lake.colour")
    assert "unknown field 'colour'" in msg and "retention_days" in msg


def test_wrong_type_points_at_the_value(write):
    p = write(MINIMAL.replace("max_nodes: 2", 'max_nodes: "2"'))
    [(line, col, path, msg)] = problems(p)
    assert (line, col, path) == (9, 50, "components.training.pools.gpu.max_nodes")
    assert "valid integer" in msg


def test_min_greater_than_max(write):
    p = write(MINIMAL.replace("max_nodes: 2", "max_nodes: 2, min_nodes: 3"))
    [(line, col, path, msg)] = problems(p)
    assert (line, path) == (9, "components.training.pools.gpu.min_nodes")
    assert "min_nodes (3) is greater than max_nodes (2)" in msg


def test_accelerator_unavailable_on_the_target_lists_allowed_values(write):
    p = write(MINIMAL.replace("nvidia-a10g", "google-tpu-v5e"))
    [(line, col, path, msg)] = problems(p)
    assert (line, col, path) == (9, 26, "components.training.pools.gpu.accelerator")
    assert "not available on aws" in msg and "nvidia-a10g" in msg and "nvidia-h100" in msg


def test_gpu_count_without_an_instance_type(write):
    p = write(MINIMAL.replace("accelerator: nvidia-a10g", "accelerator: nvidia-a100, gpus_per_node: 1"))
    [(_, _, path, msg)] = problems(p)
    assert path == "components.training.pools.gpu.gpus_per_node"
    assert "comes with 8 accelerators per node" in msg


def test_unknown_size_literal(write):
    p = write(MINIMAL.replace("api: {model: m1}", "api: {model: m1, size: huge}"))
    [(line, _, path, msg)] = problems(p)
    assert (line, path) == (13, "components.serving.endpoints.api.size")
    assert "'cpu-small'" in msg and "got 'huge'" in msg


def test_override_of_missing_field_names_the_override(write):
    text = MINIMAL.replace(
        "dev: {protect_stateful: false}", "dev: {overrides: {components.training.pools.nope.max_nodes: 1}}"
    )
    [(line, col, path, msg)] = problems(write(text))
    assert (line, col) == (15, 21)
    assert path == "environments.dev.overrides.components.training.pools.nope.max_nodes"
    assert "no field 'components.training.pools.nope'" in msg and "gpu" in msg


def test_override_that_breaks_validation_points_at_the_override(write):
    text = MINIMAL.replace(
        "dev: {protect_stateful: false}", "dev:\n    overrides:\n      components.training.pools.gpu.max_nodes: -1"
    )
    [(line, col, path, msg)] = problems(write(text))
    assert (line, col, path) == (17, 7, "components.training.pools.gpu.max_nodes")
    assert "environment 'dev'" in msg


def test_duplicate_keys_are_refused(write):
    text = MINIMAL.replace("      api: {model: m1}", "      api: {model: m1}\n      api: {model: m1}")
    [(line, col, path, msg)] = problems(write(text))
    assert (line, col) == (14, 7)
    assert "duplicate key 'api' (first defined on line 13)" in msg


def test_duplicate_list_entries_are_refused(write):
    [(_, _, path, msg)] = problems(write(MINIMAL.replace("[raw, curated]", "[raw, raw]")))
    assert path == "components.data_lake.zones" and "duplicate zone 'raw'" in msg


def test_bucket_name_aws_rejects(write):
    [(line, col, path, msg)] = problems(write(MINIMAL + "state: {bucket: Team_State}\n"))
    assert (line, col, path) == (16, 17, "state.bucket")
    assert "may hold only lowercase letters" in msg and "environment 'dev'" in msg


def test_missing_file(tmp_path):
    [(line, col, path, msg)] = problems(tmp_path / "nope.yaml")
    assert msg == "blueprint file not found"


def test_serving_must_name_a_registered_model(write):
    [(_, _, path, msg)] = problems(write(MINIMAL.replace("api: {model: m1}", "api: {model: m2}")))
    assert path == "components.serving.endpoints.api.model" and "allowed: m1" in msg


def test_only_data_engineers_write_engineering_zones(write):
    text = MINIMAL + "access:\n  data_scientists: {lake: {write: [raw]}}\n"
    [(line, _, path, msg)] = problems(write(text))
    assert (line, path) == (17, "access.data_scientists.lake.write[0]")
    assert "only data_engineers may write engineering zone 'raw'" in msg


def test_select_unknown_environment(write):
    lb = load(write(MINIMAL))
    with pytest.raises(BlueprintError) as exc:
        lb.select("prod")
    assert "no environment 'prod'; this blueprint has: dev" in str(exc.value)
