"""User text on the terminal and in Mermaid (issue 19 s3, s4, s1).

Terminal: whatever reaches `render.out`/`render.err` (strings, markup with `plain()`, `Text`, table cells,
gate waiver lines, progress lines, errors) never writes a control, bidi or zero-width character it was
given, and never reads user text as markup. CI logs: off a terminal, no table cuts or folds an id or a
number. Mermaid: user text in a diagram can neither close a node, add an edge, a click nor a directive.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata

import pytest
from typer.testing import CliRunner

from mlops_blueprint.blueprints.loader import load
from mlops_blueprint.policies.engine import Finding, Report, Waiver
from mlops_blueprint.scripts import catalog, render
from mlops_blueprint.scripts import events as ev
from mlops_blueprint.scripts.diagram import label, mermaid
from tests.conftest import ROOT

HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://evil.example\x1b\\click me\x1b]8;;\x1b\\",
    "abc\u202edcba",
    "zero\u200bwidth",
    "bom\ufeff",
    "nul\x00 bel\x07 del\x7f",
    "line\u2028separator",
    "cr\roverwrite",
    "\x9b31mC1 CSI",
]
MARKUP = ["[bold]x[/]", "[link=http://evil.example]y[/link]", "[/]", "[red"]


def _raw(text: str) -> list[str]:
    """The control, format and separator characters in `text` (line breaks aside)."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


@pytest.fixture
def consoles(monkeypatch):
    """`render.out` and `render.err` writing to strings, as in a CI log (not a terminal, no COLUMNS)."""
    monkeypatch.delenv("COLUMNS", raising=False)
    out = render.SafeConsole(file=io.StringIO(), highlight=False)
    err = render.SafeConsole(file=io.StringIO(), highlight=False)
    monkeypatch.setattr(render, "out", out)
    monkeypatch.setattr(render, "err", err)
    return out, err


def _text(console) -> str:
    return console.file.getvalue()


# --- the escape: every way text reaches the console ------------------------------------------------


@pytest.mark.parametrize("terminal", [False, True], ids=["log", "terminal"])
@pytest.mark.parametrize("value", HOSTILE, ids=[f"h{i}" for i in range(len(HOSTILE))])
def test_no_way_of_printing_writes_a_control_character_it_was_given(value, terminal):
    from rich.text import Text

    console = render.SafeConsole(file=io.StringIO(), highlight=False, force_terminal=terminal, color_system=None)
    console.print(value, markup=False)
    console.print(f"[green]ok[/] {render.plain(value)}")
    console.print(Text(value))
    console.print(render.table(value, ["id", value], [["MLOPS_AWS_016", value]]))
    console.print(render.table("t", ["a"], [[f"[red]{render.plain(value)}[/]"]], markup=True))
    written = _text(console)
    assert _raw(written) == [], (value, _raw(written))
    assert "\\x1b" in written or "\\u" in written or "\\x" in written  # shown, as an escape


@pytest.mark.parametrize("value", HOSTILE, ids=[f"h{i}" for i in range(len(HOSTILE))])
def test_a_terminal_gets_its_styles_but_none_of_the_users_sequences(value):
    console = render.SafeConsole(file=io.StringIO(), highlight=False, force_terminal=True, color_system="standard")
    console.print(f"[red]{render.plain(value)}[/]")
    written = _text(console)
    assert "\x1b[31m" in written  # rich's own style still reaches the terminal
    user = [c for c in value if _raw(c)]
    without_rich = re.sub(r"\x1b\[[0-9;]*m", "", written)
    assert [c for c in user if c in without_rich] == [], repr(written)


def test_plain_keeps_a_value_on_its_line_and_safe_lines_keeps_ours():
    assert render.plain("a\nb [x]") == "a\\x0ab \\[x]"
    assert render.safe_lines("one\ntwo\x1b") == "one\ntwo\\x1b"


@pytest.mark.parametrize("value", MARKUP)
def test_user_text_is_never_markup(value, consoles):
    out, _ = consoles
    report = Report(
        findings=[Finding(value, "n", "high", "resource", value, value, False, message=value)],
        waivers_used=[Waiver(value, value, value, value, dt.date(2099, 1, 1))],
        waiver_problems=[value],
    )
    render.Renderer().on_GateChecked(ev.GateChecked(value, report, False, "low", "gate"))
    written = _text(out)
    assert written.count(value) >= 5, written


# --- the gate, the plan, progress and errors with hostile text ---------------------------------------


def _hostile_report(value: str) -> Report:
    return Report(
        findings=[
            Finding("MLOPS_AWS_016", "n", "high", "resource", f"serving.{value}", f"aws_x.{value}", False, value),
            Finding("MLOPS_AWS_007", "n", "high", "resource", value, value, False, value, waived_by=value),
        ],
        waivers_used=[Waiver("MLOPS_AWS_007", value, value, value, dt.date(2099, 1, 1))],
        waiver_problems=[f"waiver for {value} expired"],
        waiver_warnings=[f"waiver {value} matched nothing"],
        allowances=[value],
        notes=[f"checkov CKV_AWS_1{value} not enforced by the packs: {value}"],
    )


@pytest.mark.parametrize("value", HOSTILE, ids=[f"h{i}" for i in range(len(HOSTILE))])
def test_every_event_renders_hostile_text_escaped(value, consoles):
    from mlops_blueprint.scripts.terraform import PlanSummary

    out, err = consoles
    r = render.Renderer()
    r(ev.GateChecked(f"bp-{value}", _hostile_report(value), False, "low", "gate"))
    r(ev.Note(value, level="warn"))
    r(ev.StepStarted(f"bp-{value}", value, long=True))
    r(ev.StepLine(f"bp-{value}", f"aws_x.{value}: Creating..."))
    r(ev.StepFinished(f"bp-{value}", value, 1.0))
    r(ev.Synthesized(value, ROOT / value, 3))
    summary = PlanSummary(**{f: [] for f in PlanSummary.__dataclass_fields__})  # type: ignore[arg-type]
    r(ev.Planned(value, summary))
    r.close()
    written = _text(out) + _text(err)
    assert _raw(written) == [], _raw(written)
    assert "waiver used: MLOPS_AWS_007 on" in written


def test_errors_print_escaped(consoles, tmp_path):
    from mlops_blueprint.blueprints.errors import UserError
    from mlops_blueprint.blueprints.loader import BlueprintError, Problem

    _, err = consoles
    with pytest.raises(Exception), render.rendering():  # noqa: B017,PT011 - typer.Exit
        raise BlueprintError([Problem("bp.yaml", 3, 4, "a\x1bb", "c\u202ed")])
    with pytest.raises(Exception), render.rendering():  # noqa: B017,PT011
        raise UserError("one\x1b]8;;x\x1b\\\ntwo", hint="\u202e")
    written = _text(err)
    assert _raw(written) == [] and "bp.yaml:3:4: a\\x1bb: c\\u202ed" in written and "\ntwo" in written


# --- CI logs: ids and numbers whole ---------------------------------------------------------------

RULES = [f"MLOPS_{c}_{n:03d}" for c in ("AWS", "GCP", "AZURE", "K8S") for n in (1, 16, 120)]


def _cells(text: str) -> list[list[str]]:
    rows = [ln for ln in text.splitlines() if ln.startswith("│")]
    return [[c.strip() for c in ln.strip("│").split("│")] for ln in rows]


@pytest.mark.parametrize("columns", [None, "80", "60"], ids=["no-COLUMNS", "COLUMNS=80", "COLUMNS=60"])
def test_the_gate_table_never_cuts_a_rule_id_off_a_terminal(columns, monkeypatch):
    if columns:
        monkeypatch.setenv("COLUMNS", columns)
    else:
        monkeypatch.delenv("COLUMNS", raising=False)
    out = render.SafeConsole(file=io.StringIO(), highlight=False)
    monkeypatch.setattr(render, "out", out)
    message = "the bucket is not encrypted with the environment's data key, which the baseline pack requires " * 2
    findings = [
        Finding(
            rule, "n", "high", "resource", "data_lake.curated", f"aws_s3_bucket.lake_{i}_curated_zone", False, message
        )
        for i, rule in enumerate(RULES)
    ]
    render.Renderer().on_GateChecked(
        ev.GateChecked("fraud-detection-prod", Report(findings=findings), False, "low", "gate")
    )
    cells = _cells(_text(out))
    ids = [c[1] for c in cells if c[1]]
    assert sorted(ids) == sorted(RULES), ids  # each whole, on one line, none split into two cells
    assert sorted(c[3] for c in cells if c[3]) == sorted(f.address for f in findings)
    if columns is None:
        assert all(len(ln) <= render.WIDE for ln in _text(out).splitlines())
        assert max(len(ln) for ln in _text(out).splitlines()) > 80  # wider than the old cut


def test_compare_rows_are_whole_in_a_ci_log(monkeypatch):
    from mlops_blueprint.scripts import cli, cli_blueprints

    monkeypatch.delenv("COLUMNS", raising=False)
    out = render.SafeConsole(file=io.StringIO(), highlight=False)
    monkeypatch.setattr(cli_blueprints, "out", out)
    a, b = "regulated-enterprise", "azure-claims"
    result = CliRunner().invoke(cli.app, ["catalog", "--compare", a, b])
    assert result.exit_code == 0, result.output
    cells = _cells(_text(out))
    fields = {c[1] for c in cells if len(c) == 5 and c[1]}
    cmp = catalog.compare(a, b)
    assert {f for _, f, *_ in cmp.rows} <= fields, {f for _, f, *_ in cmp.rows} - fields
    rows = {(c[0], c[1]): c[2:4] for c in cells if len(c) == 5 and c[1]}
    whole = [(s, f, x, y) for s, f, x, y, d in cmp.rows if d and " " not in x + y]
    assert len(whole) > 10 and all(rows[(s, f)] == [x, y] for s, f, x, y in whole), [
        (s, f, x, y, rows.get((s, f))) for s, f, x, y in whole if rows.get((s, f)) != [x, y]
    ]


# --- Mermaid ---------------------------------------------------------------------------------------

DIRECTIVES = [
    '%%{init: {"theme":"dark"}}%%',
    "%%{init: {'theme':'dark'}}%%",
    "x%%{wrap}%%",
    'a"] --> evil["b',
    'a"]\nclick n_x href "http://evil.example"\n%% c',
    "}}%%\n%%{init: {'theme':'forest'}}%%",
    "<img src=x onerror=alert(1)>",
    "`**md**` ``` fence",
    "end",
    "a|b;c:::changed",
    "\u202eabc\x1b[31m\u2028",
]
LINE = re.compile(
    r"^(?:---|title: \"(?:[^\"\\\n]|\\.)*\"|flowchart LR|  subgraph n_\w+\[\"[^\"%]*\"\]|    direction TB|  end"
    r"|\s+n_\w+(?:\[\(|\[\[|\[/|\(\[|\{\{|\[|>)\"[^\"%]*\"(?:\)\]|\]\]|\\\]|\]\)|\}\}|\])"
    r"|  n_\w+ -\.?->(?:\|\"[^\"%]*\"\|)? n_\w+"
    r"|  classDef \w+ [^\"]*|  class [\w,]+ \w+)$"
)


def _hostile_blueprint(value: str):
    bp = load(ROOT / "blueprints/reference/starter.yaml").envs["dev"].blueprint
    c = bp.components
    ep = next(iter(c.serving.endpoints.values()))
    comps = c.model_copy(
        update={
            "data_lake": c.data_lake.model_copy(update={"zones": [value, *c.data_lake.zones]}),
            "registry": c.registry.model_copy(update={"models": [value]}),
            "serving": c.serving.model_copy(update={"endpoints": {value: ep.model_copy(update={"model": value})}}),
            "monitoring": c.monitoring.model_copy(update={"notify": [value]}),
            "training": c.training.model_copy(update={"pools": {value: next(iter(c.training.pools.values()))}}),
        }
    )
    return bp.model_copy(update={"components": comps})


def _charts() -> list[str]:
    charts = []
    for value in DIRECTIVES:
        bp = _hostile_blueprint(value)
        charts.append(mermaid(bp, "dev", highlight={f"serving.{value}"}, removed={f"data_lake.{value}x"}))
        charts.append(mermaid(bp, "dev", title=value))
    return charts


def test_user_text_cannot_add_a_line_a_directive_or_a_click():
    for chart in _charts():
        bad = [ln for ln in chart.splitlines() if not LINE.match(ln)]
        assert bad == [], bad
        assert not re.search(r"^\s*(?:%%|click|style|linkStyle)", chart, re.M)
        assert "%%" not in chart.split("\n---\n", 1)[-1]  # none below the title


@pytest.mark.parametrize("value", DIRECTIVES)
def test_label_is_one_quoted_string_without_percent_or_quotes(value):
    text = label(value)
    assert text.startswith('"') and text.endswith('"') and '"' not in text[1:-1]
    assert "%" not in text and "\n" not in text and "`" not in text and "<" not in text


def test_mermaid_reads_no_directive_from_user_text(tmp_path):
    """Mermaid's own parser: every hostile chart is a flowchart with no configuration; the control (the
    same text in an unescaped label) does configure it, so the check can fail."""
    from tests.scripts.test_diagram import mermaid_parser

    parse = mermaid_parser(tmp_path)
    control = "flowchart LR\n  n1[\"a %%{init: {'theme':'dark'}}%% b\"] --> n2"
    charts = _charts()
    first, *results = parse([control, *charts])
    assert first["config"] == {"theme": "dark"}
    assert [(r["ok"], r.get("type"), r.get("config")) for r in results] == [(True, "flowchart-v2", {})] * len(charts), [
        r for r in results if not r["ok"]
    ]


@pytest.mark.parametrize("value", HOSTILE, ids=[f"h{i}" for i in range(len(HOSTILE))])
def test_catalog_echoes_a_hostile_reference_name_escaped_and_clipped(value, monkeypatch):
    from mlops_blueprint.scripts import cli

    monkeypatch.delenv("COLUMNS", raising=False)
    err = render.SafeConsole(file=io.StringIO(), highlight=False)
    monkeypatch.setattr(render, "err", err)
    name = value.replace("\x00", "") + "x" * 5000  # an argument cannot hold NUL
    result = CliRunner().invoke(cli.app, ["catalog", "--compare", name, "starter"])
    written = _text(err)
    assert result.exit_code == 2 and "is neither a file nor a reference blueprint" in written
    assert _raw(written) == [] and len(written) < 1000, (_raw(written), len(written))


def test_the_consoles_read_columns_when_they_print_not_when_they_are_made(monkeypatch):
    """The module's consoles are made at import: a COLUMNS set then (by a caller, or a test) must not stay
    their width for good."""
    monkeypatch.setenv("COLUMNS", "80")
    made_narrow = render.SafeConsole(file=io.StringIO(), highlight=False)
    monkeypatch.delenv("COLUMNS")
    assert made_narrow.size.width == render.WIDE
    monkeypatch.setenv("COLUMNS", "120")
    assert made_narrow.size.width == 120
    assert render.SafeConsole(file=io.StringIO(), width=90).size.width == 90
