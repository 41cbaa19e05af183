"""What the pipeline reports while it works. The CLI renders these with rich; a CI job or a user's
script may log them, collect them, or ignore them. Plain frozen data: no rendering here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class Note(Event):
    """A line of progress (a state bucket created, a shim in use). level: info | dim | warn."""

    message: str
    stack: str = ""
    level: str = "info"


@dataclass(frozen=True)
class StepStarted(Event):
    """A step began. long: it may take minutes (terraform, checkov, synth): worth a live display."""

    stack: str
    step: str
    long: bool = False


@dataclass(frozen=True)
class StepLine(Event):
    """A line of a running tool's output (terraform's "Still creating..." and the like)."""

    stack: str
    line: str


@dataclass(frozen=True)
class StepFinished(Event):
    stack: str
    step: str
    seconds: float


@dataclass(frozen=True)
class EmulatorReady(Event):
    endpoint: str
    pid: int
    started: bool


@dataclass(frozen=True)
class Synthesized(Event):
    stack: str
    path: Path
    resources: int


@dataclass(frozen=True)
class GateChecked(Event):
    """The policy gate's report for one stack. phase: gate | change rules. quiet: passed, and the
    caller asked not to show a passing gate (the fast pre-check of `up`)."""

    stack: str
    report: Any  # policies.engine.Report
    passed: bool
    min_severity: str
    phase: str
    quiet: bool = False


@dataclass(frozen=True)
class Planned(Event):
    stack: str
    summary: Any  # scripts.terraform.PlanSummary


@dataclass(frozen=True)
class Applied(Event):
    stack: str
    seconds: float
    changed: bool


@dataclass(frozen=True)
class Destroyed(Event):
    stack: str


@dataclass(frozen=True)
class Verified(Event):
    stack: str
    checks: list  # scripts.glue.Check


@dataclass(frozen=True)
class RolledOut(Event):
    result: Any  # scripts.glue.RolloutResult
