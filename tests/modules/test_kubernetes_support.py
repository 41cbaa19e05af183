"""`components.training.kubernetes_support`: what each cloud's cluster does when its version leaves
standard support, and what the estimate charges for it.

One blueprint per managed cloud, synthesized once: dev keeps the default (`standard`), prod opts in
(`extended`) through an override, so both mappings come from the same synth.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from mlops_blueprint.blueprints import cost, load, rules
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.blueprints.test_kubernetes_versions import ACCELERATOR, TARGETS
from tests.conftest import MINIMAL
from tests.modules.conftest import resources

REVIEWED = date(2026, 11, 24)
OPTED = "  prod:\n    overrides:\n      components.training.kubernetes_support: extended\n"

# cloud -> (cluster resource type, {support: the arguments that say it})
CLUSTER = {
    "aws": ("aws_eks_cluster", {"standard": {"upgrade_policy": {"support_type": "STANDARD"}},
                                "extended": {"upgrade_policy": {"support_type": "EXTENDED"}}}),
    "gcp": ("google_container_cluster", {"standard": {"release_channel": {"channel": "REGULAR"}},
                                         "extended": {"release_channel": {"channel": "EXTENDED"}}}),
    "azure": ("azurerm_kubernetes_cluster", {
        "standard": {"sku_tier": "Standard", "support_plan": "KubernetesOfficial"},
        "extended": {"sku_tier": "Premium", "support_plan": "AKSLongTermSupport"},
    }),
}  # fmt: skip


def blueprint(cloud: str, version: str = "1.35", support: str = "standard") -> str:
    """dev with `support`, prod opted in to extended support by an override."""
    text = MINIMAL.replace("target: {cloud: aws, region: eu-central-1}", TARGETS[cloud])
    text = text.replace("nvidia-a10g", ACCELERATOR[cloud])
    training = f"  training:\n    kubernetes_version: '{version}'\n    kubernetes_support: {support}\n"
    return text.replace("  training:\n", training) + OPTED


@pytest.fixture(autouse=True)
def reviewed_day(monkeypatch):
    monkeypatch.setattr(rules, "today", lambda: REVIEWED)


@pytest.mark.parametrize("cloud", list(CLUSTER))
def test_each_cloud_maps_the_support_choice_onto_its_cluster(cloud, tmp_path):
    path = tmp_path / "bp.yaml"
    path.write_text(blueprint(cloud))
    lb = load(path)
    rtype, expected = CLUSTER[cloud]
    docs = {
        r.env: json.loads(r.json_path.read_text())
        for r in synth(lb, lb.select(None), tmp_path / "out", DeploySettings())
    }
    for env, support in (("dev", "standard"), ("prod", "extended")):
        [cluster] = resources(docs[env], rtype).values()
        assert {k: cluster.get(k) for k in expected[support]} == expected[support], (cloud, env)


@pytest.mark.parametrize("cloud", list(CLUSTER))
def test_the_estimate_charges_extended_support_only_where_the_cloud_bills_it(cloud, write):
    """EKS and GKE bill extended support while the version is past standard support; AKS bills the Premium
    tier from the opt-in on, instead of the Standard tier's fee."""

    def training_fixed(version: str, support: str = "standard") -> dict[str, dict[str, float]]:
        lb = load(write(blueprint(cloud, version, support)))
        out = {}
        for env in ("dev", "prod"):
            est = cost.estimate_env(lb.envs[env])
            out[env] = {ln.item: ln.min_usd for ln in est.lines if ln.component == "training" and "pool" not in ln.item}
        return out

    current = training_fixed("1.35")  # in standard support everywhere on REVIEWED
    extended_version = {"aws": "1.32", "gcp": "1.34", "azure": "1.33"}[cloud]
    kept = training_fixed(extended_version, "extended")
    # List prices: EKS $0.10 + $0.50 in extended support, GKE $0.10 + $0.50, AKS Standard $0.10, Premium
    # $0.60 per cluster-hour; the region class scales them alike, so their ratios are the list's.
    if cloud == "azure":
        [(standard, standard_usd)] = current["dev"].items()
        [(premium, premium_usd)] = current["prod"].items()
        assert (standard, premium) == ("AKS Standard tier (uptime SLA)", "AKS Premium tier (long-term support)")
        assert premium_usd == pytest.approx(6 * standard_usd, rel=0.01)
        assert kept["prod"] == kept["dev"] == current["prod"]
    else:
        assert current["dev"] == current["prod"] and len(current["prod"]) == 1
        [(base, usd)] = current["prod"].items()
        extra = {k: v for k, v in kept["prod"].items() if k != base}
        [(item, extra_usd)] = extra.items()
        assert "extended support" in item and extra_usd == pytest.approx(5 * usd, rel=0.01)
        assert kept["dev"] == kept["prod"]
