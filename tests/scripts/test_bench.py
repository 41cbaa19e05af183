"""scripts/bench.py: its arguments, its generated blueprints, and its cheapest row end to end. The
figures themselves are not asserted (a benchmark is not a timed test); `make bench` runs every row."""

from __future__ import annotations

import importlib.util

import pytest

from mlops_blueprint.blueprints import loads
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts/bench.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_arguments(bench):
    args = bench.parse([])
    assert args.rows == ["validate", "check", "plan", "up", "size", "envs"] and args.n == 5
    assert args.steps == [0.25, 0.5, 0.75, 1.0]
    args = bench.parse(["--rows", "check, size", "-n", "2", "--steps", "0.5,1"])
    assert args.rows == ["check", "size"] and args.n == 2 and args.steps == [0.5, 1.0]
    for bad in (["--rows", "validate,speed"], ["-n", "0"], ["--steps", "0,1"], ["--steps", "1.5"]):
        with pytest.raises(SystemExit):
            bench.parse(bad)


def test_the_generated_blueprints_are_valid_and_have_the_asked_size(bench):
    assert bench.sizes([0.25, 0.5, 0.75, 1]) == [(5, 8, 2, 1), (10, 15, 4, 2), (15, 22, 6, 4), (20, 30, 8, 5)]
    lb = loads(bench.generate(20, 30, 8, 5), "scale.yaml")
    c = lb.base.components
    assert len(c.training.pools) == 20 and len(c.serving.endpoints) == 30 and len(c.data_lake.zones) == 8
    assert (
        len(c.catalog.databases) == 8
        and len(c.registry.models) == 30
        and sorted(lb.envs) == [f"env{i}" for i in range(5)]
    )


def test_imports_are_grouped_for_the_account(bench):
    assert bench.group("mlops_blueprint.blueprints.model") == "mlops_blueprint.blueprints.model"
    assert bench.group("mlops_blueprint.blueprints.model.sub") == "mlops_blueprint.blueprints.model"
    assert bench.group("pydantic._internal._generate_schema").startswith("pydantic")
    assert bench.group("rich.table").startswith("rich") and bench.group("json.decoder") == "stdlib"


def test_the_validate_row_runs(bench, capsys):
    results = bench.main(["--rows", "validate", "-n", "1"])
    row = results["rows"]["validate"]
    assert row["figure"] > 0 and "× wall" in row["text"] and "× CPU" in row["text"]
    assert any("mlops_blueprint.blueprints.model" in k for k in results["account"])
    printed = capsys.readouterr().out
    assert "| `validate` vs" in printed and "≤ 1.5×" in printed and "machine: " in printed
