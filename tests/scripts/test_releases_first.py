"""A new cluster's stack is applied in two steps (scripts/pipeline.py `_apply_cluster_stack`): the Helm
releases its state does not hold yet first (`-target`), then the whole stack, because terraform plans a
custom object (`kubernetes_manifest`) against the cluster's API, which knows its kind only once the
release with its CRD is installed. No Kubernetes API server runs here, so terraform is a recording fake;
what it records is the sequence of plans and applies `up` asks for.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlops_blueprint.blueprints import registry
from mlops_blueprint.policies import gate
from mlops_blueprint.scripts import pipeline
from mlops_blueprint.scripts.events import Note
from mlops_blueprint.scripts.glue import Target
from mlops_blueprint.scripts.terraform import PlanSummary

CHANGE = {"resource_changes": [{"address": "x.y", "type": "x", "change": {"actions": ["create"]}}]}


class FakeTerraform:
    """Records plans (their -target list) and applies; holds a state of managed resource addresses."""

    def __init__(self, state: set[str], log: list):
        self.state, self.log, self.plan_json = state, log, None

    def state_pull(self) -> dict:
        return {
            "resources": [{"mode": "managed", "type": a.split(".")[0], "name": a.split(".")[1]} for a in self.state]
        }

    def plan(self, destroy: bool = False, targets: tuple[str, ...] = ()) -> PlanSummary:
        self.log.append(("plan", targets))
        self.plan_json = CHANGE
        return PlanSummary.from_plan_json(CHANGE)

    def apply(self) -> None:
        self.log.append(("apply",))


def stack(tmp_path: Path, resources: dict) -> SimpleNamespace:
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps({"resource": resources}))
    return SimpleNamespace(stack="demo-dev-cluster", json_path=path, directory=tmp_path)


CLUSTER = {
    "helm_release": {"kueue": {}, "gpu_operator": {}},
    "kubernetes_manifest": {"cluster_queue": {}},
    "kubernetes_namespace": {"training": {}},
}


@pytest.fixture
def run(monkeypatch):
    """Apply a cluster stack against a fake terraform whose state holds `state`; returns the log and notes."""

    def _run(r: SimpleNamespace, state: set[str]) -> tuple[list, list[str]]:
        log: list = []
        monkeypatch.setattr(pipeline, "_terraform", lambda *a, **k: FakeTerraform(state, log))
        monkeypatch.setattr(pipeline, "_gate", lambda *a, **k: (True, None))
        monkeypatch.setattr(gate, "checkov_for", lambda *a, **k: None)
        notes: list[str] = []
        events = lambda ev: notes.append(ev.message) if isinstance(ev, Note) else None  # noqa: E731
        pipeline._apply_cluster_stack(registry.get("aws"), None, r, Target(local=False, mirror=None), (), events)
        return log, notes

    return _run


def test_a_new_cluster_gets_its_releases_first_then_the_whole_stack(run, tmp_path):
    log, notes = run(stack(tmp_path, CLUSTER), state=set())
    assert log == [
        ("plan", ("helm_release.kueue", "helm_release.gpu_operator")),
        ("apply",),
        ("plan", ()),
        ("apply",),
    ]
    [note] = notes
    assert "helm_release.kueue, helm_release.gpu_operator" in note and "CRDs" in note


def test_only_the_releases_the_state_lacks_go_first(run, tmp_path):
    log, _ = run(stack(tmp_path, CLUSTER), state={"helm_release.kueue", "kubernetes_namespace.training"})
    assert log == [("plan", ("helm_release.gpu_operator",)), ("apply",), ("plan", ()), ("apply",)]


def test_an_installed_cluster_is_one_plan_and_one_apply(run, tmp_path):
    log, notes = run(stack(tmp_path, CLUSTER), state={"helm_release.kueue", "helm_release.gpu_operator"})
    assert log == [("plan", ()), ("apply",)] and notes == []


def test_without_custom_objects_one_apply_does_it(run, tmp_path):
    resources = {k: v for k, v in CLUSTER.items() if k != "kubernetes_manifest"}
    log, notes = run(stack(tmp_path, resources), state=set())
    assert log == [("plan", ()), ("apply",)] and notes == []


def test_terraform_plan_passes_each_target(monkeypatch, tmp_path):
    from mlops_blueprint.scripts import terraform

    seen: list[tuple] = []
    tf = terraform.Terraform(tmp_path, stack="s", env={}, mirror=None)
    monkeypatch.setattr(tf, "run", lambda *args, **k: seen.append(args))
    monkeypatch.setattr(tf, "show_json", lambda out: {})
    tf.plan(targets=("helm_release.a", "helm_release.b"))
    [args] = seen
    assert args[0] == "plan" and args[-2:] == ("-target=helm_release.a", "-target=helm_release.b")
