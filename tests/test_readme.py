"""The README's examples run: its blueprint validates, and each Python example runs as written,
from a scratch folder that holds `blueprints/` (so their relative paths and `cdktf.out` resolve).

Its figures are generated, so they cannot drift: the `catalog` and `cost` outputs between
`<!-- catalog:begin -->`/`<!-- cost:begin -->` markers and their `:end` markers, and the cost cells of
the sample review comment, are what the tool prints today. When one fails, regenerate them with

    .venv/bin/python -m tests.test_readme --write
"""

import json
import os
import re
import subprocess
import sys

import pytest

from mlops_blueprint.blueprints import loads
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
PYTHON = re.findall(r"```python\n(.*?)```", README, flags=re.S)
YAML = re.findall(r"```yaml\n(.*?)```", README, flags=re.S)


def test_the_readme_has_the_library_examples():
    assert len(PYTHON) >= 3, "README lost its library examples"


def test_the_readme_blueprint_validates_as_written():
    blueprint = next(y for y in YAML if "kind: Blueprint" in y)
    loaded = loads(blueprint, name="README.md")
    assert loaded.name == "starter" and list(loaded.envs) == ["dev", "prod"]
    assert loaded.envs["dev"].blueprint.components.training.pools["gpu-a"].max_nodes == 1


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "blueprints").symlink_to(ROOT / "blueprints")
    return tmp_path


@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_readme_python_example_runs(index, scratch):
    path = scratch / f"example{index}.py"
    path.write_text(PYTHON[index])
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="18,20")
    p = subprocess.run([sys.executable, str(path)], cwd=scratch, capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    stacks = sorted(q.name for q in (scratch / "cdktf.out" / "stacks").iterdir())
    if "mb.check(" in PYTHON[index]:
        assert p.stdout.strip() == "gate passed ['dev']"
        assert stacks == ["starter-dev", "starter-dev-cluster"]
    elif "AnalyticsLake" in PYTHON[index]:
        doc = json.loads((scratch / "cdktf.out/stacks/analytics-lake/cdk.tf.json").read_text())
        buckets = sorted(b["bucket"] for b in doc["resource"]["aws_s3_bucket"].values())
        assert stacks == ["analytics-lake"] and buckets == [
            "analytics-dev-audit-logs",
            "analytics-dev-curated",
            "analytics-dev-raw",
        ]
    else:
        doc = json.loads((scratch / "cdktf.out/stacks/starter-dev/cdk.tf.json").read_text())
        assert stacks == ["starter-dev", "starter-dev-cluster"] and "aws_sagemaker_endpoint" in doc["resource"]


# --- the generated figures ---------------------------------------------------------------------------

BLOCK = re.compile(r"(<!-- (\w+):begin -->\n)(.*?)(<!-- \2:end -->)", re.S)
STARTER = ROOT / "blueprints" / "reference" / "starter.yaml"


def text_table(header: list[str], rows: list[list[str]], right: tuple[int, ...] = ()) -> list[str]:
    """A table as the terminal shows it, without its rules: columns padded, numbers right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in [header, *rows]
    ]


def generated_catalog() -> str:
    from mlops_blueprint.scripts import catalog
    from mlops_blueprint.scripts.cli_blueprints import CATALOG_COLUMNS, catalog_rows

    lines = text_table(CATALOG_COLUMNS, catalog_rows(catalog.entries()))
    return "\n".join(["```", "$ mlops-blueprint catalog", *lines, "```"]) + "\n"


def generated_cost() -> str:
    from mlops_blueprint.blueprints import cost, load
    from mlops_blueprint.scripts.cli_blueprints import budget_line, cost_rows, cost_title

    x = cost.estimate_blueprint(load(STARTER), "dev")["dev"]
    rows = [[c, lo, hi] for c, _item, lo, hi in cost_rows(x)]
    lines = [cost_title("dev", x), *text_table(["component", "minimum", "maximum"], rows, right=(1, 2))]
    line = budget_line(x, markup=False)
    return (
        "\n".join(
            [
                "```",
                f"$ mlops-blueprint cost {STARTER.relative_to(ROOT)} --env dev",
                *lines,
                *([line] if line else []),
                "```",
            ]
        )
        + "\n"
    )


def generated_review_costs() -> tuple[str, str]:
    """The sample review comment's cost cells: the starter's dev before, the proposed change's after
    (tests/integration/test_review_on_emulator.py makes the change), as `review` renders them."""
    from mlops_blueprint.blueprints import cost, load, loads
    from mlops_blueprint.scripts.review import _delta, _money
    from tests.integration.test_review_on_emulator import proposed_text

    before, after = (
        cost.estimate_env(x)
        for x in (load(STARTER).envs["dev"], loads(proposed_text(), name="PROPOSED.yaml").envs["dev"])
    )
    a, b = (before.min_usd, before.max_usd), (after.min_usd, after.max_usd)
    return f"{_money(a)} → {_money(b)} |", f"| {_money(a)} | {_money(b)} | {_delta(a, b)} |"


REVIEW_SUMMARY = re.compile(r"(\| ❌ dev \| [^\n]*\| )(\S+ → \S+ \|)$", re.M)
REVIEW_COSTS = re.compile(r"(\| before \| after \| delta \(min / max\) \|\n\|---:\|---:\|---:\|\n)(\|[^\n]*\|)$", re.M)


def regenerated(text: str) -> str:
    """The README with every generated figure as the tool gives it today."""
    made = {"catalog": generated_catalog, "cost": generated_cost}
    text = BLOCK.sub(lambda m: m.group(1) + made[m.group(2)]() + m.group(4), text)
    summary, costs = generated_review_costs()
    text = REVIEW_SUMMARY.sub(lambda m: m.group(1) + summary, text)
    return REVIEW_COSTS.sub(lambda m: m.group(1) + costs, text)


def test_the_readme_figures_are_what_the_tool_prints_today():
    """The catalog (clouds, cost ranges), the starter's cost table and the sample review's costs."""
    assert {m.group(2) for m in BLOCK.finditer(README)} == {"catalog", "cost"}, "a generated block lost its markers"
    assert REVIEW_SUMMARY.search(README) and REVIEW_COSTS.search(README), "the sample review lost its cost cells"
    want = regenerated(README)
    if want != README:
        import difflib

        diff = "\n".join(
            difflib.unified_diff(README.splitlines(), want.splitlines(), "README.md", "generated", lineterm="")
        )
        pytest.fail(f"the README's figures are stale; run `.venv/bin/python -m tests.test_readme --write`:\n{diff}")


def test_the_generated_catalog_names_what_catalog_names():
    """The generator reads the same entries as `catalog --format json`: every reference, its clouds."""
    from mlops_blueprint.scripts import catalog

    block = generated_catalog()
    for e in catalog.entries():
        row = next(line for line in block.splitlines() if line.startswith(e.ref + " "))
        assert " ".join(e.clean_clouds) in row and e.tier in row, row


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        (ROOT / "README.md").write_text(regenerated(README))
        print("README.md: the generated figures are written")
