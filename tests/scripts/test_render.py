"""The terminal rendering of a gate report: what a person at the terminal sees of the gate."""

from rich.console import Console

from mlops_blueprint.policies.engine import Finding, Report
from mlops_blueprint.scripts import events as ev
from mlops_blueprint.scripts import render


def _render(report: Report, monkeypatch) -> str:
    console = Console(record=True, width=200, highlight=False)
    monkeypatch.setattr(render, "out", console)
    render.Renderer().on_GateChecked(ev.GateChecked("bp-dev", report, report.ok(), "low", "gate"))
    return console.export_text()


def test_the_checkov_checks_the_packs_do_not_enforce_are_listed(monkeypatch):
    report = Report(
        findings=[Finding("MLOPS_AWS_001", "n", "high", "resource", "data_lake.raw", "aws_s3_bucket.x", True)],
        notes=[
            "checkov CKV_AWS_144 not enforced by the packs: cross-region replication is the DR blueprint's job",
            "checkov CKV2_AWS_62 not enforced by the packs: event notifications are optional",
        ],
    )
    text = _render(report, monkeypatch)
    assert "policy gate passed bp-dev: 1 passed, 0 failing, 0 waived" in text
    assert (
        "checkov checks not enforced by the packs (2, reasons in --format markdown): CKV_AWS_144, CKV2_AWS_62" in text
    )


def test_no_line_when_every_checkov_check_is_enforced(monkeypatch):
    text = _render(Report(findings=[], notes=["something else"]), monkeypatch)
    assert "not enforced" not in text
