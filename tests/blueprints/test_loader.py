"""The loader: valid documents, overlays, and every kind of bad input with its exact location."""

import re

import pytest

from mlops_blueprint.blueprints import BlueprintError, load
from tests.conftest import MINIMAL, ROOT


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


# --- size that is not bytes: many environments ------------------------------------------------------

STARTER = (ROOT / "blueprints" / "reference" / "starter.yaml").read_text()


def many_environments(n: int) -> str:
    """The starter with `n` environments, each overriding its budget with a value of its own (so no two
    environments validate to the same model) and every fourth one its pool size too."""
    head = STARTER[: STARTER.index("\nenvironments:\n")]
    envs = "".join(
        f"  e{i}:\n    overrides:\n      baseline.budget.monthly_limit_usd: {100 + i}\n"
        + (f"      components.training.pools.gpu-a.max_nodes: {1 + i % 3}\n" if i % 4 == 0 else "")
        for i in range(n)
    )
    return f"{head}\nenvironments:\n{envs}"


@pytest.mark.parametrize("n", [1200, 2000])
def test_thousands_of_environments_validate_each_with_its_own_overrides(tmp_path, n):
    """1,200 environments took more than 15 s, and 2,000 ended in a MemoryError: every environment
    deep-copied the whole document and its marks, and validated every other environment again
    (`python -m mlops_blueprint.scripts.bench` measures the growth)."""
    path = tmp_path / "many.yaml"
    path.write_text(many_environments(n))
    lb = load(path)
    assert list(lb.envs) == [f"e{i}" for i in range(n)]
    text = path.read_text().splitlines()
    for i in (0, 1, 4, n // 2, n - 1):
        env = lb.envs[f"e{i}"]
        assert env.blueprint.baseline.budget.monthly_limit_usd == 100 + i
        assert env.blueprint.components.training.pools["gpu-a"].max_nodes == (1 + i % 3 if i % 4 == 0 else 4)
        assert list(env.blueprint.environments) == list(lb.envs)  # every environment's settings, as before
        line = lb.line_of("baseline.budget.monthly_limit_usd", env=f"e{i}")
        assert text[line - 1] == f"      baseline.budget.monthly_limit_usd: {100 + i}"
    assert lb.base.baseline.budget.monthly_limit_usd != 100  # the document itself is not overridden


def test_an_override_error_in_one_of_many_environments_names_its_line(tmp_path):
    text = many_environments(1200).replace("monthly_limit_usd: 700\n", "monthly_limit_usd: -1\n")
    path = tmp_path / "many.yaml"
    path.write_text(text)
    [(line, col, path_, msg)] = problems(path)
    assert text.splitlines()[line - 1] == "      baseline.budget.monthly_limit_usd: -1"
    assert path_ == "baseline.budget.monthly_limit_usd" and "environment 'e600'" in msg


SERVING = "{endpoints: {fraud-api: {model: fraud, min_replicas: 2, max_replicas: 4}}}"
MIN_REPLICAS = "components.serving.endpoints.fraud-api.min_replicas"


@pytest.mark.parametrize(
    "overrides, lines, replicas",
    [
        # the later override sets the paths below both, whichever of the two is deeper
        ([(MIN_REPLICAS, "3"), ("components.serving", SERVING)], {MIN_REPLICAS: 1, "components.serving": 1}, 2),
        ([("components.serving", SERVING), (MIN_REPLICAS, "3")], {MIN_REPLICAS: 1, "components.serving": 0}, 3),
    ],
)
def test_an_environments_marks_point_at_the_override_that_set_each_path(tmp_path, overrides, lines, replicas):
    head = STARTER[: STARTER.index("\nenvironments:\n")]
    written = "".join(f"      {k}: {v}\n" for k, v in overrides)
    path = tmp_path / "bp.yaml"
    path.write_text(f"{head}\nenvironments:\n  dev: {{}}\n  qa:\n    overrides:\n{written}")
    lb = load(path)
    first = path.read_text().splitlines().index(f"      {overrides[0][0]}: {overrides[0][1]}") + 1
    for dotted, which in lines.items():
        assert lb.line_of(dotted, env="qa") == first + which, dotted
        assert lb.line_of(dotted, env="dev") == lb.line_of(dotted) < first  # the document's own line
    assert lb.envs["qa"].blueprint.components.serving.endpoints["fraud-api"].min_replicas == replicas
    assert lb.envs["dev"].blueprint.components.serving.endpoints["fraud-api"].min_replicas == 1


# --- long values and terminal control in echoes -----------------------------------------------------

LONG = "a" * 100_000


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("name: starter", f"name: {LONG}", "metadata.name"),
        ("owner: ml-platform@example.com", f"owner: {LONG}", "metadata.owner"),
        ("region: eu-central-1", f"region: {LONG}", "target.region"),
        ("size: cpu-medium", f"size: {LONG}", "components.serving.endpoints.fraud-api.size"),
        ("spot: true", f"spot: {LONG}", "components.training.pools.gpu-a.spot"),
        ("max_nodes: 1\n", f"max_nodes: {LONG}\n", "components.training.pools.gpu-a.max_nodes"),
    ],
)
def test_a_100000_character_value_gives_a_short_error(tmp_path, old, new, field):
    assert old in STARTER
    path = tmp_path / "bp.yaml"
    path.write_text(STARTER.replace(old, new, 1))
    with pytest.raises(BlueprintError) as exc:
        load(path)
    text = str(exc.value)
    assert field in text and len(text) < 1200, text[:2000]
    assert "(100000 characters)" in text


@pytest.mark.parametrize("value", ["\\e[31mred", "\\e]8;;http://x\\e\\\\link", "a\\u202eb", "\\x07bell"])
def test_echoed_values_carry_no_terminal_control(tmp_path, value):
    path = tmp_path / "bp.yaml"
    path.write_text(STARTER.replace("size: cpu-medium", f'size: "{value}"', 1))
    with pytest.raises(BlueprintError) as exc:
        load(path)
    text = str(exc.value)
    assert "components.serving.endpoints.fraud-api.size" in text
    assert not any(ch in text for ch in "\x1b\x07\u202e"), repr(text)


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("  registry:\n", f"  ? {LONG}\n  : 1\n  registry:\n", "components.aaaa"),
        ("      gpu-a:", f"      ? {LONG}\n      :", "components.training.pools.aaaa"),
        ("  dev:\n", f"  ? {LONG}\n  : {{}}\n  dev:\n", "environments.aaaa"),
        (
            "      components.training.pools.gpu-a.max_nodes: 1",
            f"      ? components.{LONG}\n      : 1",
            "environments.dev.overrides.components.aaaa",
        ),
        ("  registry:\n", f"  ? {LONG}\n  : 1\n  ? {LONG}\n  : 2\n  registry:\n", "duplicate key 'aaaa"),
    ],
)
def test_a_100000_character_key_gives_a_short_field_path(tmp_path, old, new, field):
    assert old in STARTER
    path = tmp_path / "bp.yaml"
    path.write_text(STARTER.replace(old, new, 1))
    with pytest.raises(BlueprintError) as exc:
        load(path)
    text = str(exc.value)
    assert field in text and re.search(r"\(1000\d\d characters\)", text) and len(text) < 1200, text[:2000]
