"""The Mermaid diagram: its flows and highlights, its escaping, and its syntax checked by Mermaid's own
parser (npm `mermaid`, run by node with jsdom for the DOM it expects).

The parser is installed on first use into `.tools/mermaid` (a tests-only npm prefix):

    npm install --prefix .tools/mermaid --no-audit --no-fund mermaid@11.17.2 jsdom@29.1.1

The parser tests skip only when npm itself is absent.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from mlops_blueprint.blueprints.loader import load, loads
from mlops_blueprint.scripts.diagram import fenced, label, mermaid, node_id
from tests.conftest import MINIMAL, REFERENCE, ROOT

PREFIX = ROOT / ".tools" / "mermaid"
PACKAGES = ("mermaid@11.17.2", "jsdom@29.1.1")
STARTER = ROOT / "blueprints/reference/starter.yaml"

PARSE_JS = r"""
import { createRequire } from "node:module";
import path from "node:path";
const prefix = path.resolve(process.argv[2]);
const req = createRequire(path.join(prefix, "node_modules", "x.js"));
const { JSDOM } = req("jsdom");
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const mermaid = (await import(req.resolve("mermaid"))).default;
mermaid.initialize({ startOnLoad: false });
let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const text of JSON.parse(input)) {
  try {
    const r = await mermaid.parse(text);
    out.push({ ok: true, type: r.diagramType, config: r.config || {} });
  } catch (e) {
    out.push({ ok: false, error: String(e.message || e).slice(0, 400) });
  }
}
console.log(JSON.stringify(out));
"""


def mermaid_parser(folder):
    """A function: diagrams -> [{ok, type, config} | {ok, error}] from Mermaid's own parser (installed into
    PREFIX on first use; the caller skips when npm is absent)."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: Mermaid's parser comes from the npm registry")
    if not all((PREFIX / "node_modules" / p.rsplit("@", 1)[0] / "package.json").is_file() for p in PACKAGES):
        PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund", *PACKAGES],
            check=True,
            capture_output=True,
            timeout=600,
        )
    script = folder / "parse.mjs"
    script.write_text(PARSE_JS)

    def run(texts: list[str]) -> list[dict]:
        p = subprocess.run(
            ["node", str(script), str(PREFIX)], input=json.dumps(texts), capture_output=True, text=True, timeout=300
        )
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    return run


@pytest.fixture(scope="module")
def parse(tmp_path_factory):
    """diagrams -> [{ok, type|error}] from Mermaid's own parser."""
    return mermaid_parser(tmp_path_factory.mktemp("mermaid"))


def test_every_reference_environment_parses_as_a_flowchart(parse):
    texts = []
    for path in REFERENCE:
        loaded = load(path)
        for name, e in loaded.envs.items():
            texts.append(mermaid(e.blueprint, name))
    # and with changed and removed components styled
    e = load(STARTER).envs["dev"]
    texts.append(mermaid(e.blueprint, "dev", highlight={"serving.fraud-api", "training"}, removed={"data_lake.gold"}))
    results = parse(texts)
    assert [r.get("type") for r in results] == ["flowchart-v2"] * len(texts), [r for r in results if not r["ok"]]


def test_the_parser_is_real_an_unescaped_label_fails(parse):
    """The control: the same label, unescaped, is refused; escaped, it parses."""
    hostile = 'a "quote" [x] (y) {z} | #35; <b>&amp; `tick` end'
    bad = f'flowchart LR\n  n1["{hostile}"] --> n2'
    good = f"flowchart LR\n  n1[{label(hostile)}] -->|{label(hostile)}| n2(({label('end')}))"
    assert [r["ok"] for r in parse([bad, good])] == [False, True]


def test_user_text_in_every_label_is_escaped_and_still_parses(parse):
    # Names are constrained by the schema, but every label goes through label(): a hostile title parses.
    bp = loads(MINIMAL, "bp.yaml").envs["dev"].blueprint
    chart = mermaid(bp, "dev", title='x"]; click n_x call alert() %% [end]')
    assert 'title: "x\\"]; click n_x call alert() %% [end]"' in chart
    assert parse([chart])[0]["ok"]


def test_label_escapes_quotes_brackets_and_markup():
    assert label('a "b" <c> & #d `e`\nf') == '"a #quot;b#quot; #lt;c#gt; #amp; #35;d #96;e#96; f"'
    assert label("[x] (y) {z} | ;") == '"[x] (y) {z} | ;"'  # inside quotes these are plain text


def test_node_ids_are_safe_and_distinct():
    keys = ["data_lake.raw", "data-lake.raw", "data_lake_raw", "end", "serving.fraud-api", "a b"]
    ids = [node_id(k) for k in keys]
    assert all(re.fullmatch(r"n_[A-Za-z0-9_]+", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert node_id("end") == "n_end"  # never the reserved word itself


def test_flows_follow_the_blueprint():
    bp = load(STARTER).envs["dev"].blueprint
    chart = mermaid(bp, "dev")
    z = {n: node_id(f"data_lake.{n}") for n in ("raw", "curated", "features")}
    pool, model, ep = node_id("training.gpu-a"), node_id("registry.fraud"), node_id("serving.fraud-api")
    edges = set(re.findall(r"^  (\S+) -\.?->(?:\|\"([^\"]*)\"\|)? (\S+)$", chart, re.M))
    expected = {
        (z["raw"], "", z["curated"]),
        (z["curated"], "", z["features"]),
        (z["curated"], "crawled", node_id("catalog.sales")),
        (z["features"], "crawled", node_id("catalog.features")),
        (z["features"], "reads", pool),
        (pool, "writes", model),
        (model, "pulls", ep),
        (node_id("monitoring"), "watches", ep),
        (node_id("monitoring"), "watches", pool),
        (node_id("persona.app_consumers"), "invoke", node_id("serving")),
        (node_id("persona.ml_engineers"), "deploy", node_id("serving")),
        (node_id("persona.data_engineers"), "writes", node_id("data_lake")),
        (node_id("persona.data_scientists"), "runs jobs", node_id("training")),
    }
    assert expected <= edges, expected - edges
    # the resolved environment: dev's override of max_nodes shows
    assert f'{pool}["pool gpu-a: nvidia-l4 x1, 0-1 nodes"]' in chart
    assert chart.startswith('---\ntitle: "starter (dev)"\n---\nflowchart LR\n')


def test_highlight_and_removed_are_styled():
    bp = load(STARTER).envs["dev"].blueprint
    chart = mermaid(bp, "dev", highlight={"serving.fraud-api", "monitoring.gpu-a"}, removed={"data_lake.gold"})
    classes = {cls: ids for ids, cls in re.findall(r"^  class (\S+) (\w+)$", chart, re.M)}
    assert set(classes["changed"].split(",")) == {node_id("serving.fraud-api"), node_id("monitoring")}
    assert classes["removed"] == node_id("data_lake.gold")
    assert f'{node_id("data_lake.gold")}[("gold (removed)")]' in chart
    # a whole component (a grant changed, not a zone) styles its box, not every zone in it
    chart = mermaid(bp, "dev", highlight={"data_lake", "catalog.sales"})
    changed = re.search(r"^  class (\S+) changed$", chart, re.M).group(1).split(",")
    assert changed == [node_id("data_lake"), node_id("catalog.sales")]
    # nothing changed: no class line for it
    assert "changed\n" not in mermaid(bp, "dev").split("classDef persona")[1]


def test_fenced_is_a_mermaid_block():
    assert fenced("flowchart LR\n  a --> b") == "```mermaid\nflowchart LR\n  a --> b\n```"


def test_the_diagram_command_writes_a_parseable_file(parse, tmp_path):
    cli = [sys.executable, "-m", "mlops_blueprint.scripts.cli", "diagram", str(STARTER)]
    out = tmp_path / "prod.mmd"
    p = subprocess.run([*cli, "--env", "prod", "--output-file", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    assert text == mermaid(load(STARTER).envs["prod"].blueprint, "prod") + "\n"
    assert '(["endpoint fraud-api: cpu-medium, 2-4 replicas"])' in text  # prod's override resolved
    assert parse([text])[0]["ok"]
    p = subprocess.run([*cli, "--env", "nope"], capture_output=True, text=True, cwd=ROOT, env=dict(os.environ))
    assert p.returncode == 2 and "nope" in p.stderr and "Traceback" not in p.stderr
