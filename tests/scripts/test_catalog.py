"""Blueprint selection: tiers on every reference, the catalog table, compare, and init."""

import json
import os
import subprocess
import sys

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.scripts import catalog
from tests.conftest import REFERENCE, ROOT

CLI = [sys.executable, "-m", "mlops_blueprint.scripts.cli"]


def run(*args, cwd=ROOT):
    env = dict(os.environ, COLUMNS="250", NO_COLOR="1")
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env)


def test_every_reference_declares_its_tier_and_purpose():
    tiers = {p.stem: load(p).base.metadata.tier for p in REFERENCE}
    assert tiers == {
        "azure-claims": "transformational",
        "gcp-vision": "strategic",
        "onprem-research": "strategic",
        "regulated-enterprise": "transformational",
        "starter": "strategic",
        "tactical-team": "tactical",
    }
    for p in REFERENCE:
        purpose = load(p).base.metadata.purpose
        assert purpose and purpose.endswith(".") and purpose.count(". ") == 0, p.stem  # one sentence


def test_tiers_match_their_definition():
    for p in REFERENCE:
        lb = load(p)
        bp, comps = lb.base, lb.base.components
        built = {k for k in type(comps).model_fields if getattr(comps, k) is not None}
        if bp.metadata.tier == "tactical":  # monitoring only for the pool alarm the baseline pack asks for
            assert {"data_lake", "training", "registry"} <= built and not {"catalog", "serving"} & built
            assert list(lb.envs) == ["dev"]
        elif bp.metadata.tier == "strategic":
            assert {"data_lake", "catalog", "serving", "monitoring"} <= built and {"dev", "prod"} <= set(lb.envs)
        else:
            assert len(built) == 6 and len(lb.envs) == 3 and bp.metadata.data_classification == "restricted"


def test_catalog_entries():
    entries = {e.ref: e for e in catalog.entries()}
    assert [e.ref for e in catalog.entries()][:1] == ["tactical-team"]  # ordered by tier
    t = entries["tactical-team"].as_dict()
    assert t == {
        "ref": "tactical-team",
        "name": "team-churn",
        "tier": "tactical",
        "purpose": "One team trains churn models on its own lake with spot GPUs and keeps them in a registry.",
        "cloud": "aws",
        "clouds": ["aws", "gcp", "azure", "onprem"],
        "components": ["data_lake", "training", "registry", "monitoring"],
        "environments": ["dev"],
        "monthly_usd": {"min": 242.16, "max": 581.48},
        "packs": ["baseline"],
    }
    s = entries["starter"]
    assert s.clean_clouds == ("aws", "gcp", "onprem")  # nvidia-l4 has no Azure equivalent
    assert (s.min_usd, s.max_usd, s.cost_range) == (1063.47, 3205.69, "1,063-3,206")
    assert entries["gcp-vision"].clean_clouds == ("gcp",)  # a TPU pool: GCP only
    assert entries["azure-claims"].environments == ("dev", "stage", "prod")
    assert entries["regulated-enterprise"].packs == ("baseline", "regulated")


def test_catalog_cli_table_and_json():
    p = run("catalog")
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("│")]
    cells = [[c.strip() for c in ln.strip("│").split("│")] for ln in lines]
    assert cells[0] == [
        "tactical-team",
        "tactical",
        "aws gcp azure onprem",
        "data_lake, training, registry, monitoring",
        "dev",
        "242-581",
        "baseline",
    ]
    assert [c[0] for c in cells] == [
        "tactical-team",
        "gcp-vision",
        "onprem-research",
        "starter",
        "azure-claims",
        "regulated-enterprise",
    ]
    doc = json.loads(run("catalog", "--format", "json").stdout)
    assert [d["tier"] for d in doc] == [
        "tactical",
        "strategic",
        "strategic",
        "strategic",
        "transformational",
        "transformational",
    ]


def test_compare_field_by_field_with_costs():
    cmp = catalog.compare("tactical-team", "starter")
    rows = {(s, f): (a, b, d) for s, f, a, b, d in cmp.rows}
    assert rows[("metadata", "tier")] == ("tactical", "strategic", True)
    assert rows[("metadata", "data_classification")] == ("internal", "internal", False)
    assert rows[("target", "region")] == ("eu-west-1", "eu-central-1", True)
    assert rows[("components.data_lake", "zones")] == ("raw, features", "raw, curated, features", True)
    assert rows[("components.serving", "endpoints.fraud-api.model")] == ("-", "fraud", True)
    assert rows[("components.training", "pools.gpu.accelerator")] == ("nvidia-t4", "-", True)
    assert rows[("baseline", "budget.monthly_limit_usd")] == ("800", "1000", True)
    assert cmp.costs == [
        ("dev", "242-581", "439-1,237"),
        ("prod", "-", "624-1,968"),
        ("total", "242-581", "1,063-3,206"),
    ]
    p = run("catalog", "--compare", "tactical-team", "starter", "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert (doc["a"], doc["b"]) == ("team-churn", "starter")
    assert {"section": "metadata", "field": "tier", "a": "tactical", "b": "strategic", "differs": True} in doc["fields"]


def test_compare_unknown_reference_exits_2():
    p = run("catalog", "--compare", "nope", "starter")
    assert p.returncode == 2 and "'nope' is neither a file nor a reference blueprint" in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize(
    ("ref", "cloud", "target_line", "replace"),
    [
        (
            "starter",
            "gcp",
            "target: {cloud: gcp, region: europe-west1, project_id: replace-me-project}",
            "# replace the placeholders (project_id",
        ),
        (
            "tactical-team",
            "azure",
            "target: {cloud: azure, region: westeurope, subscription_id: 00000000-0000-0000-0000-000000000000}",
            "# replace the placeholders (subscription_id",
        ),
        (
            "azure-claims",
            "aws",
            "target: {cloud: aws, region: eu-west-1}",
            "# replace: check the region; optional fields: account_id",
        ),
    ],
)
def test_init_retargets_renames_and_validates(tmp_path, ref, cloud, target_line, replace):
    dest = tmp_path / "platforms" / "new.yaml"
    p = run("init", dest, "--from", ref, "--cloud", cloud, "--name", "acme-ml")
    assert p.returncode == 0, p.stderr
    text = dest.read_text()
    lines = text.splitlines()
    rel = os.path.relpath(ROOT / "blueprints" / "blueprint.schema.json", dest.parent)
    assert lines[0] == f"# yaml-language-server: $schema={rel}"
    i = lines.index(target_line)
    assert lines[i - 1].startswith(replace)
    lb = load(dest)
    assert (lb.base.metadata.name, lb.base.target.cloud) == ("acme-ml", cloud)
    assert list(lb.envs) == list(load(ROOT / f"blueprints/reference/{ref}.yaml").envs)
    assert "target.subscription_id" not in text  # another cloud's target overrides are dropped
    assert [x.name for x in tmp_path.joinpath("platforms").iterdir()] == ["new.yaml"]  # no temp file left


def test_init_onprem_gets_node_labels_for_every_accelerator(tmp_path):
    dest = tmp_path / "op.yaml"
    p = run("init", dest, "--from", "starter", "--cloud", "onprem")
    assert p.returncode == 0, p.stderr
    t = load(dest).base.target
    assert (t.cloud, t.kube_context, t.storage_class) == ("onprem", "replace-me-context", "replace-me-storage")
    assert t.gpu_node_labels == {"nvidia-l4": {"nvidia.com/gpu.product": "REPLACE-ME-NVIDIA-L4"}}


def test_init_refuses_to_overwrite(tmp_path):
    dest = tmp_path / "exists.yaml"
    dest.write_text("keep me\n")
    p = run("init", dest, "--from", "starter")
    assert p.returncode == 2 and "exists; init never overwrites a file" in p.stderr
    assert dest.read_text() == "keep me\n"


def test_init_refuses_an_unclean_retarget_and_writes_nothing(tmp_path):
    dest = tmp_path / "az.yaml"
    p = run("init", dest, "--from", "starter", "--cloud", "azure")
    assert p.returncode == 2
    assert "starter retargeted to azure does not validate; nothing was written" in p.stderr
    assert f"{dest}:" in p.stderr and "components.training.pools.gpu-a.accelerator" in p.stderr
    assert list(tmp_path.iterdir()) == []
