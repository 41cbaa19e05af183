"""`init` keeps none of the reference's own organization: its owner, cost center, alert recipients and
account, project, subscription, network and cluster ids become placeholders that validate, that
`validate` flags at their line ("replace the placeholder") until they are replaced, and that `init`
itself lists. A retarget writes what the new cloud can do: a Kubernetes version that does not warn, no
`spot: true` where there is no spot market. On-prem `cost` reports no budget."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from mlops_blueprint.blueprints import cost, load, placeholders, registry
from mlops_blueprint.scripts import catalog as lib
from mlops_blueprint.scripts.cli import app
from tests.conftest import REFERENCE

IDENTITY = lib.IDENTITY


def own_values(path) -> set[str]:
    """What in a reference names its own organization: owner, cost center, alert recipients, and the
    identity ids of its target and of every environment's override of them."""
    loaded = load(path)
    bp = loaded.base
    values = {bp.metadata.owner, bp.metadata.cost_center}
    if bp.components.monitoring:
        values |= set(bp.components.monitoring.notify)
    values |= {str(getattr(bp.target, f)) for f in IDENTITY if getattr(bp.target, f, None)}
    for e in loaded.data.get("environments", {}).values():
        values |= {str(v) for k, v in ((e or {}).get("overrides") or {}).items() if k.split(".")[-1] in IDENTITY}
    return values


CASES = [(p, c) for p in REFERENCE for c in (None, *registry.NAMES)]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every reference, as it is and retargeted to every cloud it retargets to cleanly."""
    out = {}
    for path in REFERENCE:
        clean = lib.retargets(path)
        for cloud in (None, *registry.NAMES):
            if cloud is not None and (clean[cloud] or cloud == load(path).base.target.cloud):
                continue
            dest = tmp_path_factory.mktemp("init") / f"{path.stem}-{cloud or 'same'}.yaml"
            out[(path.stem, cloud)] = (path, lib.init(dest, path.stem, cloud=cloud))
    return out


def test_every_reference_and_retarget_is_written(written):
    assert {stem for stem, _ in written} == {p.stem for p in REFERENCE}
    assert len(written) > len(REFERENCE)  # retargets too


def test_no_value_of_the_references_own_organization_is_kept(written):
    for (stem, cloud), (src, dest) in written.items():
        text = dest.read_text()
        kept = [v for v in own_values(src) if re.search(r"(?<![\w.@/-])" + re.escape(v) + r"(?![\w@-])", text)]
        assert kept == [], (stem, cloud, kept)


def test_validate_flags_every_placeholder_at_its_line_until_it_is_replaced(written):
    for (stem, cloud), (_, dest) in written.items():
        loaded = load(dest)
        flagged = {w.path for w in loaded.warnings if placeholders.MARKED in w.message}
        assert {"metadata.owner", "metadata.cost_center"} <= flagged, (stem, cloud, flagged)
        target = loaded.base.target
        for field in IDENTITY:  # every identity field the new file holds is a placeholder, and flagged
            if getattr(target, field, None):
                assert f"target.{field}" in flagged, (stem, cloud, field)
        lines = dest.read_text().splitlines()
        for w in loaded.warnings:
            if placeholders.MARKED in w.message:  # the line it points at holds a placeholder
                assert re.search(r"replace-me|REPLACE-ME|0{8}-0{4}|0{12}|0{6}-0{6}", lines[w.line - 1]), (w, stem)


def test_replacing_the_placeholders_clears_the_warnings(written):
    _, dest = written[("azure-claims", None)]
    text = (
        dest.read_text()
        .replace(placeholders.OWNER, "claims@corp.example")
        .replace(placeholders.NOTIFY, "oncall@corp.example")
    )
    text = text.replace("cost_center: replace-me", "cost_center: cc-42")
    text = text.replace(
        placeholders.TARGET["runner_network"],
        "/subscriptions/1b2c3d4e-0000-4000-8000-000000000009/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet",
    )
    guids = iter(f"1b2c3d4e-0000-4000-8000-00000000000{i}" for i in range(1, 9))
    text = re.sub(placeholders.ZERO_GUID, lambda m: next(guids), text)
    dest.write_text(text)
    assert [w for w in load(dest).warnings if placeholders.MARKED in w.message] == []


def test_a_retarget_writes_only_what_the_cloud_can_do(written):
    """No warning but the placeholders' (the Kubernetes version is in standard support today), and no
    `spot: true` on a cloud without a spot market."""
    for (stem, cloud), (_, dest) in written.items():
        if cloud is None:
            continue
        others = [str(w) for w in load(dest).warnings if placeholders.MARKED not in w.message]
        assert others == [], (stem, cloud, others)
        pools = load(dest).base.components.training
        if not cost.has_spot(cloud) and pools:
            assert not any(p.spot for p in pools.pools.values()), (stem, cloud)
            assert not re.search(r"\bspot:\s*(true|yes|on)\b", dest.read_text()), (stem, cloud)
    assert any(c == "onprem" for _, c in written)  # the family includes on-prem


def test_init_says_which_placeholders_to_replace(tmp_path, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # a CI log: no right edge, each location on one line
    dest = tmp_path / "claims.yaml"
    r = CliRunner().invoke(app, ["init", str(dest), "--from", "azure-claims"])
    assert r.exit_code == 0, r.output
    flagged = [w for w in load(dest).warnings if placeholders.MARKED in w.message]
    assert f"replace its {len(flagged)} placeholder(s) before deploying" in r.output
    for w in flagged:
        assert f"{w.file}:{w.line}:{w.col}: {w.path}" in r.output
    assert "'# replace' line" not in r.output  # no line that is not there


def test_on_prem_cost_reports_no_budget(tmp_path, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    dest = tmp_path / "op.yaml"
    lib.init(dest, "starter", cloud="onprem")
    estimates = cost.estimate_blueprint(load(dest))
    for x in estimates.values():
        assert (x.owned, x.budget_status, x.as_dict()["budget_usd"]) == (True, "none", None)
    r = CliRunner().invoke(app, ["cost", str(dest)])
    assert r.exit_code == 0, r.output
    assert "budget" not in r.output.replace("no budget applies", ""), r.output
    aws = cost.estimate_blueprint(load(REFERENCE[0]))
    assert all(not x.owned and x.budget_status != "none" for x in aws.values())
