"""User text in every report medium, with a hostile family: escape sequences and OSC 8 links, bidi and
zero-width controls, NUL and the characters XML 1.0 cannot hold, markup that would close a JUnit element
or a CDATA section, break a markdown table or fence, inject HTML or ping everyone.

- SARIF stays valid SARIF 2.1.0 and no message carries a control, bidi or zero-width character;
- JUnit stays valid against junit-10.xsd, parses, and holds no such character, the markup as text;
- markdown (the gate's and the review's) has no raw HTML, no mention, no extra cell or fence;
- JSON keeps the values exactly (it is data), every such character written as an ASCII escape.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from markdown_it import MarkdownIt

from mlops_blueprint.blueprints.text import first_unsafe, md_block, md_code, md_text, sarif_text, xml_text
from mlops_blueprint.policies.engine import Finding, Report, Waiver
from mlops_blueprint.policies.report import RENDER
from mlops_blueprint.scripts import review as rv

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
GFM = MarkdownIt("commonmark").enable("table")

HOSTILE = [
    "red \x1b[31mALERT\x1b[0m text",
    "link \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 here",
    "abc\u202edcba reversed",
    "zero\u200bwidth\ufeffjoin",
    "nul\x00byte and bell\x07",
    "lone \ud800 surrogate and \ufffe nonchar",
    "next\x85line and \u2028 separator",
    "</failure></testcase><testcase name='x'>",
    "]]> <![CDATA[ x ]]>",
    "| x | y |",
    "```\nfenced\n```",
    "<img src=x onerror=alert(1)>",
    "@everyone and @org/team, cc @dependabot",
    "[click](javascript:alert(1)) **bold** _it_ # heading",
    "tab\there\r\nand crlf",
]
IDS = [f"h{i}" for i in range(len(HOSTILE))]
MENTION = re.compile(r"(?<![A-Za-z0-9])@[A-Za-z0-9]")


def report(text: str) -> dict[str, Report]:
    """One environment whose every user-text field carries `text`."""
    waiver = Waiver("MLOPS_AWS_016", f"registry {text}", f"reason {text}", f"{text}@example.com", dt.date(2030, 1, 1))
    findings = [
        Finding("MLOPS_AWS_016", "ECR tags are immutable", "high", "resource", f"registry.{text}",
                f"aws_ecr_repository.{text}", False, f"value {text}", waived_by=f"owner: {text}"),
        Finding("MLOPS_AWS_017", "ECR scans on push", "medium", "resource", f"registry.{text}",
                f"aws_ecr_repository.{text}", False, f"message {text}"),
        Finding("CKV_AWS_51", "checkov", "low", "resource", "r", f"aws_x.{text}", False, f"checkov {text}",
                source="checkov"),
        Finding("MLOPS_AWS_018", "crashed", "high", "resource", "(rule)", "(rule)", False, f"crash {text}",
                error=True),
    ]  # fmt: skip
    r = Report(findings, [waiver], [f"waiver 1 names unknown check {text!r}"], [f"waiver 2 for {text} matched nothing"])
    r.allowances, r.notes = [f"allowed {text}"], [f"checkov CKV_AWS_18 not enforced by the packs: {text}"]
    return {"dev": r}


def strings(doc: object) -> list[str]:
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for k, v in doc.items() for s in strings(k) + strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in strings(v)]
    return []


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads((SCHEMAS / "sarif" / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema)


@pytest.fixture(scope="module")
def junit_xsd():
    return xmlschema.XMLSchema(str(SCHEMAS / "junit" / "junit-10.xsd"))


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_sarif_is_valid_and_no_message_carries_a_control_or_bidi_character(text, sarif_validator):
    out = RENDER["sarif"](report(text), "low")
    out.encode("utf-8")  # a lone surrogate would not encode
    doc = json.loads(out)
    assert list(sarif_validator.iter_errors(doc)) == []
    unsafe = [s for s in strings(doc) if first_unsafe(s)]
    assert unsafe == []
    messages = [r["message"]["text"] for run in doc["runs"] for r in run["results"]]
    assert any(sarif_text(f"value {text}") in m for m in messages)  # the value is shown, escaped, not dropped


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_junit_is_valid_parses_and_keeps_markup_as_text(text, junit_xsd):
    out = RENDER["junit"](report(text), "low")
    junit_xsd.validate(out)
    root = ET.fromstring(out.encode("utf-8"))
    values = [v for el in root.iter() for v in [*el.attrib.values(), el.text or ""]]
    assert [v for v in values if first_unsafe(v, newline=True)] == []
    failures = {el.get("message") for el in root.iter("failure")}
    assert xml_text(f"message {text}") in failures  # `</testcase>` and `]]>` come back as text
    [case] = [c for c in root.iter("testcase") if c.get("classname") == "MLOPS_AWS_017"]
    assert case.get("name") == xml_text(f"aws_ecr_repository.{text}")


def md_check(md: str) -> list[str]:
    """The rendered text of a markdown document outside code (GitHub makes no mention in code spans and
    blocks); asserts it holds no raw HTML and the document no unsafe character."""
    texts = []
    for tok in GFM.parse(md):
        assert tok.type not in ("html_block", "html_inline"), tok
        for child in tok.children or []:
            assert child.type not in ("html_inline", "html_block"), child
            if child.type == "text":
                texts.append(child.content)
    assert first_unsafe(md, newline=True) is None
    return texts


def table_widths(md: str) -> set[int]:
    widths, row = set(), None
    for tok in GFM.parse(md):
        if tok.type == "tr_open":
            row = 0
        elif tok.type in ("th_open", "td_open"):
            row += 1
        elif tok.type == "tr_close":
            widths.add(row)
    return widths


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_gate_markdown_has_no_html_no_mention_and_keeps_its_table(text):
    md = RENDER["markdown"](report(text), "low")
    texts = md_check(md)
    assert table_widths(md) == {5}
    assert not [t for t in texts if MENTION.search(t) and "@example.com" not in t]
    assert any(" ".join(f"value {text}".split()) in t.replace("\u200b", "") for t in texts) or first_unsafe(text)
    assert any("@\u200beveryone" in t for t in texts) or "@everyone" not in text  # shown, not pinging


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_review_markdown_has_no_html_no_mention_and_keeps_its_tables_and_fences(text):
    gate = rv.Gate(
        False,
        failures=[{"rule": "MLOPS_AWS_001", "severity": "high", "subject": f"s {text}", "address": "a",
                   "message": f"m {text}"}],
        problems=[f"problem {text}"],
        waivers_used=[{"check": "C", "resource": f"r {text}", "owner": f"o {text}", "reason": text,
                       "expires": "2030-01-01"}],
    )  # fmt: skip
    risky = [rv.Risky(f"aws_s3_bucket.{text}", f"data_lake.{text}", "destroy", f"k {text}", "blocked", f"d {text}")]
    env = rv.EnvReview(
        "dev", "starter-dev", f"plan {text}", f"error {text}\nline two", [], risky, gate, None, None,
        "flowchart LR\n  a --> b", [], notes=[f"note {text}"],
    )  # fmt: skip
    diff = [rv.DiffLine("dev", f"metadata.owner {text}", "changed", f"was {text}", f"now {text}")]
    review = rv.Review(f"bp {text}", "s.yaml", "main", diff, [env])
    as_json = rv.to_json(review)
    assert as_json.isascii() and json.loads(as_json)["environments"][0]["notes"] == [f"note {text}"]
    md = rv.to_markdown(review)
    texts = md_check(md.replace("<details><summary>", "").replace("</summary>", "").replace("</details>", ""))
    assert not [t for t in texts if MENTION.search(t)]
    fences = [t for t in GFM.parse(md) if t.type == "fence"]
    assert len(fences) == md.count("```mermaid") + 2  # the plan error, the diff, the diagram: no line closed one
    assert any(f"now {text}".split("\n")[0] in f.content for f in fences) or first_unsafe(text, newline=True)


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_json_keeps_the_values_exactly_in_ascii(text):
    out = RENDER["json"](report(text), "low")
    assert out.isascii()
    dev = json.loads(out)["dev"]
    assert f"message {text}" in [f["message"] for f in dev["findings"]]
    assert dev["waivers_used"][0]["reason"] == f"reason {text}"


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_each_escape_alone(text):
    for cell in (md_text(text), md_code(text, cell=True)):
        assert first_unsafe(cell) is None and "\n" not in cell
        assert table_widths(f"| h | x |\n|---|---|\n| {cell} | end |\n") == {2}
    block = md_block([text, "after"])
    [fence] = [t for t in GFM.parse(block) if t.type == "fence"]
    assert fence.content.endswith("after\n") and first_unsafe(fence.content, newline=True) is None
    assert first_unsafe(sarif_text(text)) is None and first_unsafe(xml_text(text), newline=True) is None
