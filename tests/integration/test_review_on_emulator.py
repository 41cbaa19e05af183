"""`review` on a real deployment: the starter's dev environment is deployed into the emulator once, then
the blueprint changes three ways (dev's replica count, a new GPU pool, a removed lake zone) and the
review comment is read section by section: the verdict, the summary, the blueprint diff, the blocked
destroy, the changes by component, the gate, the cost delta, the diagram and the details. Then the
same change with `--allow-destroy`, both environments planned in parallel, as JSON."""

import json
import re

import pytest

from mlops_blueprint.blueprints.cost import estimate_env, usd
from mlops_blueprint.blueprints.loader import load
from mlops_blueprint.scripts import pipeline
from mlops_blueprint.scripts.diagram import node_id
from tests.integration.run import STARTER
from tests.integration.run import cli_split as cli

pytestmark = pytest.mark.integration
GPU_A = "      gpu-a: {accelerator: nvidia-l4, gpus_per_node: 1, min_nodes: 0, max_nodes: 4, spot: true}\n"
GPU_B = "      gpu-b: {accelerator: nvidia-a10g, gpus_per_node: 1, min_nodes: 0, max_nodes: 2, spot: true}\n"
DEV_OVERRIDE = "      components.training.pools.gpu-a.max_nodes: 1\n"


def proposed_text() -> str:
    text = STARTER.read_text()
    for old, new in (
        ("zones: [raw, curated, features]", "zones: [raw, features]"),  # a removed lake zone
        ("sales: {zones: [curated]}", "sales: {zones: [raw]}"),  # (its database now crawls raw)
        (GPU_A, GPU_A + GPU_B),  # a new pool
        (DEV_OVERRIDE, DEV_OVERRIDE + "      components.serving.endpoints.fraud-api.min_replicas: 2\n"),  # replicas
    ):
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def deployed(emulator, tmp_path_factory):
    """The starter's dev environment, deployed once for the module; returns (synth dir, proposed file)."""
    root = tmp_path_factory.mktemp("review")
    out = root / "cdktf.out"
    pipeline.up(pipeline.validate(STARTER), "dev", local=True, outdir=out, verify=False)
    proposed = root / "starter.yaml"
    proposed.write_text(proposed_text())
    return out, proposed


def sections(markdown: str) -> dict[str, str]:
    """heading -> its body (up to the next heading of any level)."""
    parts = re.split(r"^(#{2,4} .*)$", markdown, flags=re.M)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts), 2)}


def rows(body: str) -> list[list[str]]:
    """The data rows of the (first) GFM table in `body`, as cells."""
    table = [ln for ln in body.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in table[2:]]


def test_the_review_comment_section_by_section(deployed, emulator_home, tmp_path):
    out, proposed = deployed
    md_file = tmp_path / "review.md"
    rc, so, se = cli(
        "review", proposed, "--env", "dev", "--base", STARTER, "--local", "--output", out,
        "--output-file", md_file, home=emulator_home,
    )  # fmt: skip
    assert rc == 7, so + se  # may not merge: the guard blocks the lake zone's destroy
    text = md_file.read_text()
    assert len(text) <= 65_536
    s = sections(text)
    assert list(s) == [
        "## Blueprint review: starter",
        "### Blueprint diff",
        "### ❌ dev (starter-dev)",
        "#### Risky changes",
        "#### Changes by component",
        "#### Policy gate",
        "#### Monthly cost (USD, minimum–maximum scale)",
        "#### Diagram",
    ]

    # the verdict, and the summary table (one row per environment)
    head = s["## Blueprint review: starter"]
    assert head.startswith("**❌ may not merge: dev: the data-loss guard blocks 1 risky change(s)**")
    before, after = estimate_env(load(STARTER).envs["dev"]), estimate_env(load(proposed).envs["dev"])
    (summary,) = rows(head)
    m = re.fullmatch(r"(\d+) add, (\d+) change, (\d+) replace, (\d+) destroy", summary[1])
    assert m, summary
    counts = dict(zip(("add", "change", "replace", "destroy"), map(int, m.groups()), strict=True))
    assert summary[0] == "❌ dev" and summary[2] == "1 (1 blocked)" and summary[3] == "failed (1)"
    cost = f"{usd(before.min_usd)}–{usd(before.max_usd)} → {usd(after.min_usd)}–{usd(after.max_usd)}"
    assert summary[4] == cost

    # the blueprint diff, in the blueprint's words, dev's override resolved
    assert s["### Blueprint diff"] == (
        "Against `" + str(STARTER) + "`, overrides resolved per environment:\n\n```\n"
        "dev: components.data_lake.zones [raw, curated, features] → [raw, features]\n"
        "dev: components.catalog.databases.sales.zones [curated] → [raw]\n"
        "dev: components.training.pools.gpu-b added\n"
        "dev: components.serving.endpoints.fraud-api.min_replicas 1 → 2\n```"
    )

    # risky changes first: the removed zone's bucket, blocked by the data-loss guard
    (risky,) = rows(s["#### Risky changes"])
    assert risky[:2] == ["⛔", "**destroy**"]
    assert re.fullmatch(r"`aws_s3_bucket\.data_lake_curated_bucket_[0-9A-F]{8}`", risky[2])
    assert risky[3] == "data_lake.curated"
    assert risky[5] == (
        "blocked by the data-loss guard (MLOPS_CHG_001); if intended: --allow-destroy data_lake.curated"
    )

    # changes by blueprint component, with counts that add up to the plan's
    table = rows(s["#### Changes by component"])
    assert table[-1] == ["**total**", *(f"**{counts[a]}**" for a in ("add", "change", "replace", "destroy"))]
    groups = {
        r[0]: dict(zip(("add", "change", "replace", "destroy"), map(int, r[1:]), strict=True)) for r in table[:-1]
    }
    assert {a: sum(g[a] for g in groups.values()) for a in counts} == counts
    curated = groups["data_lake.curated"]  # the zone's bucket and its versioning, encryption, policy, ...
    assert curated["destroy"] >= 7 and curated["add"] == curated["change"] == curated["replace"] == 0
    # the new pool: its alarm and dashboard, and its node group where the cloud stack holds it (with a
    # cluster stack, the node pool is there: the emulator cannot plan it and the review says so)
    assert groups["monitoring.gpu-b"]["add"] >= 1
    cluster_note = "_starter-dev-cluster: not planned (the emulator has no Kubernetes API server), only gated._"
    assert groups.get("training.gpu-b", {}).get("add", 0) >= 1 or cluster_note in s["### ❌ dev (starter-dev)"]
    assert groups["catalog.sales"] == {"add": 0, "change": 1, "replace": 0, "destroy": 0}  # the crawler's target
    assert groups["serving.fraud-api"]["change"] + groups["serving.fraud-api"]["replace"] >= 1  # min replicas
    assert "data_lake.raw" not in groups and "data_lake.features" not in groups  # untouched zones

    # the gate: the guard's failure, no waivers
    gate = s["#### Policy gate"]
    assert gate.startswith("❌ **failed**: 1 failure(s), 0 waiver problem(s)")
    (failure,) = rows(gate)
    assert failure[:3] == ["critical", "MLOPS_CHG_001", "data_lake.curated"]
    assert "- Waivers used: none" in gate and "- Waivers expiring within 30 days: none" in gate

    # the cost delta: a new pool and a second replica cost more, a zone less
    (cost_row,) = rows(s["#### Monthly cost (USD, minimum–maximum scale)"])
    lo, hi = after.min_usd - before.min_usd, after.max_usd - before.max_usd
    assert cost_row == [
        f"{usd(before.min_usd)}–{usd(before.max_usd)}",
        f"{usd(after.min_usd)}–{usd(after.max_usd)}",
        f"{lo:+,.0f} / {hi:+,.0f}",
    ]
    assert lo > 0 and hi > 0

    # the diagram: changed components styled, the removed zone drawn as removed; then the details
    diagram, details = s["#### Diagram"].split("\n```\n\n", 1)
    chart = diagram.split("```mermaid\n", 1)[1]
    classes = {cls: set(ids.split(",")) for ids, cls in re.findall(r"^  class (\S+) (\w+)$", chart, re.M)}
    assert classes["removed"] == {node_id("data_lake.curated")}
    assert {node_id(k) for k in ("training.gpu-b", "serving.fraud-api", "catalog.sales", "monitoring")} <= classes[
        "changed"
    ]
    assert node_id("training.gpu-a") not in classes["changed"]
    assert '(["endpoint fraud-api: cpu-medium, 2-4 replicas"])' in chart
    n = sum(counts.values())
    assert details.startswith(f"<details><summary>Plan per address ({n} changes, from terraform plan)</summary>")
    assert details.endswith("</details>")
    plan_rows = rows(details)
    assert len(plan_rows) == n
    assert sorted({r[0] for r in plan_rows}) == sorted(a for a in counts if counts[a])
    assert all(r[2] in ("data_lake.curated", "catalog") for r in plan_rows if r[0] == "destroy")


def test_allowed_destroy_in_both_environments_as_json(deployed, emulator_home, tmp_path):
    """Both environments planned in parallel (prod was never deployed: all of it is new); the allowance
    lets dev's destroy through, so the change may merge (exit 0)."""
    out, proposed = deployed
    json_file = tmp_path / "review.json"
    rc, so, se = cli(
        "review", proposed, "--base", STARTER, "--local", "--output", out, "--allow-destroy", "data_lake.curated",
        "--format", "json", "--output-file", json_file, home=emulator_home,
    )  # fmt: skip
    doc = json.loads(json_file.read_text())
    assert rc == doc["exit_code"], se
    dev, prod = doc["environments"]
    assert (dev["env"], prod["env"]) == ("dev", "prod")
    assert [(r["status"], r["detail"]) for r in dev["risky"]] == [
        ("allowed", "allowed by --allow-destroy data_lake.curated")
    ]
    assert dev["gate"]["allowances"][0].endswith("destroy allowed by --allow-destroy data_lake.curated")
    assert dev["gate"]["passed"], dev["gate"]
    assert prod["risky"] == [] and prod["counts"]["destroy"] == 0 and prod["counts"]["add"] > 100
    assert [d["text"] for d in doc["diff"]] == [
        "all: components.data_lake.zones [raw, curated, features] → [raw, features]",
        "all: components.catalog.databases.sales.zones [curated] → [raw]",
        "all: components.training.pools.gpu-b added",
        "dev: components.serving.endpoints.fraud-api.min_replicas 1 → 2",
    ]
    assert rc == (0 if prod["gate"]["passed"] else 7)
    assert doc["may_merge"] is (rc == 0)


# Template sequences a hostile pull request would write into the blueprint's free text (issue 19).
HOSTILE = {
    "cost_center: cc-1234": "cost_center: 'cc-${path.cwd}'",
    "sales: {zones: [curated]}": """sales: {zones: [curated], description: '%{ for x in ["a"] }${x}%{ endfor } ${file("/etc/hostname")}'}""",
}


def test_hostile_text_plans_as_literal_text(deployed, tmp_path):
    """The blueprint's text reaches Terraform as data: `terraform validate` passes on the stack, and the
    plan against the deployed environment shows the literal text, not the runner's working folder or
    hostname (tests/stacks/test_literal_text.py holds every field of every cloud to this in synth)."""
    import subprocess

    text = STARTER.read_text()
    for old, new in HOSTILE.items():
        assert old in text, old
        text = text.replace(old, new)
    hostile = tmp_path / "starter.yaml"
    hostile.write_text(text)
    planned = pipeline.plan_each(pipeline.validate(hostile), "dev", local=True, outdir=tmp_path / "out", clusters=False)
    dev = planned["dev"]
    assert dev.error is None and dev.plan["resource_changes"], dev.error
    folder = dev.json_path.parent
    checked = subprocess.run(
        ["terraform", "validate", "-json", "-no-color"], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert json.loads(checked.stdout)["valid"] is True, checked.stdout + checked.stderr

    changes = {c["address"]: c["change"] for c in dev.plan["resource_changes"]}
    database = next(c for a, c in changes.items() if a.startswith("aws_glue_catalog_database.") and "sales" in a)
    assert database["after"]["description"] == '%{ for x in ["a"] }${x}%{ endfor } ${file("/etc/hostname")}'
    tagged = [c["after"]["tags_all"] for c in changes.values() if isinstance((c["after"] or {}).get("tags_all"), dict)]
    assert len(tagged) > 20 and {t["cost-center"] for t in tagged} == {"cc-${path.cwd}"}
