"""Kubernetes versions: each cloud's support table, and what `validate` says about a version.

The calendar is pinned to the day the tables were reviewed (2026-11-24) by replacing
`rules.today`, so these tests do not change their verdict as time passes; the tables themselves
are data to re-review (stacks/<cloud>/catalog.py says from where).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from typer.testing import CliRunner

from mlops_blueprint.blueprints import BlueprintError, load, registry, rules
from mlops_blueprint.blueprints.model import Training
from mlops_blueprint.scripts.cli import app
from tests.conftest import MINIMAL

REVIEWED = date(2026, 11, 24)
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# A minimal blueprint per managed cloud, with its training version on line 8.
TARGETS = {
    "aws": "target: {cloud: aws, region: eu-central-1}",
    "gcp": "target: {cloud: gcp, region: europe-west4, project_id: acme-ml-dev}",
    "azure": ("target: {cloud: azure, region: westeurope, subscription_id: 00000000-0000-4000-8000-000000000000}"),
}
ACCELERATOR = {"aws": "nvidia-a10g", "gcp": "nvidia-l4", "azure": "nvidia-t4"}

# (cloud, a version past extended support or unknown, one in extended support, its cost phrase)
CASES = [
    ("aws", "1.30", "1.32", "$0.60 per cluster-hour instead of $0.10"),
    ("gcp", "1.31", "1.34", "Extended release channel"),
    ("azure", "1.30", "1.33", "Premium tier ($0.60 per cluster-hour"),
]


@pytest.fixture(autouse=True)
def reviewed_day(monkeypatch):
    monkeypatch.setattr(rules, "today", lambda: REVIEWED)


def blueprint(cloud: str, version: str, support: str | None = None) -> str:
    text = MINIMAL.replace("target: {cloud: aws, region: eu-central-1}", TARGETS[cloud]).replace(
        "nvidia-a10g", ACCELERATOR[cloud]
    )
    text = text.replace("  training:\n", f"  training:\n    kubernetes_version: '{version}'\n")
    if support:
        text = text.replace("  training:\n", f"  training:\n    kubernetes_support: {support}\n")
    assert text.splitlines()[7 if support is None else 8] == f"    kubernetes_version: '{version}'"
    return text


def validate(path):
    return CliRunner().invoke(app, ["validate", str(path)])


@pytest.mark.parametrize(("cloud", "gone", "_extended", "_cost"), CASES)
def test_validate_refuses_a_version_past_extended_support_at_its_line(write, cloud, gone, _extended, _cost):
    path = write(blueprint(cloud, gone))
    result = validate(path)
    assert result.exit_code == 2, result.output
    assert f"{path}:8:25: components.training.kubernetes_version" in result.output
    table = registry.get(cloud).catalog.kubernetes_support
    assert f"reached the end of extended support on {table[gone].extended_end}" in result.output
    live = [v for v, r in table.items() if date.fromisoformat(r.extended_end) >= REVIEWED]
    assert f"allowed: {', '.join(live)} (support table reviewed 2026-11-24" in " ".join(result.output.split())
    assert gone not in live


@pytest.mark.parametrize("cloud", list(TARGETS))
def test_validate_refuses_a_version_the_cloud_never_offered(write, cloud):
    with pytest.raises(BlueprintError) as exc:
        load(write(blueprint(cloud, "1.19")))
    [p] = exc.value.problems
    assert (p.line, p.path) == (8, "components.training.kubernetes_version")
    assert p.message.startswith(f"Kubernetes 1.19 is not a version {registry.get(cloud).title} supports; allowed: ")


@pytest.mark.parametrize(("cloud", "_gone", "extended", "cost"), CASES)
def test_a_version_past_standard_support_needs_the_extended_opt_in(write, cloud, _gone, extended, cost):
    """Without `kubernetes_support: extended` the cluster runs under standard support (EKS upgrade policy
    STANDARD, GKE Regular channel, AKS Standard tier), on which the cloud would upgrade or refuse a version
    past standard support: an error at the version's line naming the opt-in, its cost and the versions in
    standard support."""
    path = write(blueprint(cloud, extended))
    result = validate(path)
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    table = registry.get(cloud).catalog.kubernetes_support
    assert (
        f"{path}:8:25: components.training.kubernetes_version: Kubernetes {extended} on "
        f"{registry.get(cloud).title} left standard support on {table[extended].standard_end}: to stay on it set "
        "components.training.kubernetes_support: extended (" in out
    )
    assert cost in out
    standard = [v for v, r in table.items() if date.fromisoformat(r.standard_end) >= REVIEWED]
    assert f"in standard support: {', '.join(standard)} (support table reviewed 2026-11-24" in out
    assert extended not in standard and "1.35" in standard


@pytest.mark.parametrize(("cloud", "_gone", "extended", "cost"), CASES)
def test_opted_in_a_version_in_extended_support_is_a_warning_naming_its_cost(write, cloud, _gone, extended, cost):
    path = write(blueprint(cloud, extended, "extended"))
    result = validate(path)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    release = registry.get(cloud).catalog.kubernetes_support[extended]
    assert f"warning {path}:9:25: components.training.kubernetes_version: Kubernetes {extended} left standard" in out
    assert f"in extended support until {release.extended_end}" in out and cost in out
    assert "in standard support: " in out and "1.35 until " in out
    [w] = load(path).warnings
    assert (w.line, w.col, w.path) == (9, 25, "components.training.kubernetes_version")


@pytest.mark.parametrize(("cloud", "gone", "_extended", "_cost"), CASES)
def test_the_opt_in_does_not_revive_a_version_past_extended_support(write, cloud, gone, _extended, _cost):
    with pytest.raises(BlueprintError) as exc:
        load(write(blueprint(cloud, gone, "extended")))
    [p] = exc.value.problems
    assert (p.line, p.path) == (9, "components.training.kubernetes_version")
    assert "reached the end of extended support" in p.message


@pytest.mark.parametrize("cloud", list(TARGETS))
def test_a_version_in_standard_support_is_quiet(write, cloud):
    lb = load(write(blueprint(cloud, "1.35")))
    assert lb.warnings == []
    assert lb.envs["dev"].blueprint.components.training.kubernetes_version == "1.35"


ONPREM = """\
apiVersion: mlops.blueprint/v1
kind: Blueprint
metadata: {name: lab, owner: team@example.com, cost_center: cc-1}
target: {cloud: onprem, region: onprem, kube_context: lab, kubernetes_version: "VERSION", storage_class: std, ingress_class: nginx}
components:
  data_lake: {zones: [raw]}
environments:
  dev: {protect_stateful: false}
"""


def test_on_prem_past_upstream_end_of_life_is_a_warning_naming_the_vendor(write):
    lb = load(write(ONPREM.replace("VERSION", "1.33")))
    [w] = lb.warnings
    assert (w.line, w.path) == (4, "target.kubernetes_version")
    assert "left standard support on 2026-06-28" in w.message and "for as long as your vendor supports it" in w.message
    assert "RKE2, OpenShift" in w.message
    assert load(write(ONPREM.replace("VERSION", "1.35"))).warnings == []


def test_on_prem_refuses_the_opt_in_on_a_cluster_it_does_not_build(write):
    text = ONPREM.replace("VERSION", "1.33").replace(
        "  data_lake: {zones: [raw]}\n",
        "  data_lake: {zones: [raw]}\n  training:\n    kubernetes_support: extended\n"
        "    pools: {gpu: {accelerator: nvidia-t4, max_nodes: 1}}\n",
    )
    with pytest.raises(BlueprintError) as exc:
        load(write(text))
    problems = {(p.line, p.path): p.message for p in exc.value.problems}
    assert "not the platform's to choose" in problems[(8, "components.training.kubernetes_support")], problems


def test_on_prem_refuses_a_version_without_a_schema(write):
    with pytest.raises(BlueprintError) as exc:
        load(write(ONPREM.replace("VERSION", "1.29")))
    assert {(p.line, p.path) for p in exc.value.problems} == {(4, "target.kubernetes_version")}
    assert any("allowed: 1.31, 1.32, 1.33, 1.34, 1.35, 1.36, 1.37" in p.message for p in exc.value.problems)


@pytest.mark.parametrize("cloud", registry.NAMES)
def test_every_cloud_has_a_reviewed_sourced_support_table(cloud):
    catalog = registry.get(cloud).catalog
    assert catalog.kubernetes_versions == tuple(catalog.kubernetes_support)
    assert catalog.kubernetes_reviewed == "2026-11-24" and catalog.kubernetes_source.startswith("https://")
    assert catalog.extended_support_cost
    versions = [tuple(int(x) for x in v.split(".")) for v in catalog.kubernetes_support]
    assert versions == sorted(versions) and len(versions) >= 5
    for release in catalog.kubernetes_support.values():
        assert ISO.match(release.standard_end)
        assert release.extended_end == "" or (
            ISO.match(release.extended_end) and release.extended_end >= release.standard_end
        )


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_the_default_version_is_in_standard_support_on_every_managed_cloud(cloud):
    default = Training.model_fields["kubernetes_version"].default
    release = registry.get(cloud).catalog.kubernetes_support[default]
    assert date.fromisoformat(release.standard_end) > REVIEWED, (cloud, default, release)
