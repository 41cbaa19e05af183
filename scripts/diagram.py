"""A Mermaid flowchart of one environment's platform: components, personas and data flows.

    from mlops_blueprint.scripts.diagram import mermaid
    text = mermaid(loaded.envs["dev"].blueprint, highlight={"serving.fraud-api"})

Nodes are keyed by the blueprint's own names (`data_lake.raw`, `training.gpu-a`, `serving.fraud-api`,
`monitoring`); `highlight` names the changed ones (a key, or a whole component such as `data_lake`, whose box is styled)
and `removed` adds nodes for what the change takes away (a removed lake zone), each styled by a
`classDef`. The flows: lake zones in their order (raw -> curated -> features), the catalog crawls its
zones, training reads the last zone and writes the registry, serving pulls its model from the
registry, monitoring watches endpoints and pools; personas reach components as `access` grants.

Every label is user text: `label()` escapes it for Mermaid (quotes, brackets, `#`, `<`, `>`, `&`,
backticks, `%`, line breaks, control/bidi/zero-width characters) and node ids are made from a safe
alphabet, never from raw names. `%` matters: Mermaid reads a `%%{init: ...}%%` directive anywhere in
the text, even inside a quoted label, so a label never holds a `%` (it is `#37;`, which Mermaid shows
as `%`). The title is YAML front matter (JSON-quoted, read before directives are looked for). So user
text can neither close a node, add an edge, a click or a directive, nor restyle the chart. GitHub
and GitLab render the result natively inside a ```mermaid block. The tests parse it with Mermaid's
own parser (npm `mermaid`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from mlops_blueprint.blueprints.model import Blueprint

__all__ = ["fenced", "label", "mermaid", "node_id"]

CLASSES = (
    "classDef changed fill:#fde68a,stroke:#b45309,stroke-width:3px,color:#000",
    "classDef removed fill:#fecaca,stroke:#b91c1c,stroke-width:3px,stroke-dasharray: 5 5,color:#000",
    "classDef persona fill:#e0e7ff,stroke:#4338ca,color:#000",
)
_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;", "%": "#37;"}


def label(text: object) -> str:
    """User text as a quoted Mermaid label: `"..."` with quotes, `#`, `<`, `>`, `&`, backticks and `%`
    as entity codes (so brackets, pipes and semicolons stay inside the quotes, and no `%%{...}%%`
    directive or `%%` comment can form), line breaks as spaces, other invisible characters dropped."""
    s = re.sub(r"[\r\n\t]+", " ", str(text))
    s = "".join(_ENTITIES.get(ch, ch) for ch in s if ch.isprintable())
    return f'"{s}"'


def node_id(key: str) -> str:
    """A Mermaid node id for a blueprint key: letters, digits and `_` only, never a reserved word
    (`end`, `graph`, ...), unique for distinct keys (every other character becomes `_xx_`, its code)."""
    return "n_" + re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group()):x}_", key)


def fenced(text: str) -> str:
    """The diagram inside a ```mermaid block (GitHub and GitLab render it)."""
    return f"```mermaid\n{text}\n```"


class _Chart:
    def __init__(self, highlight: Iterable[str], removed: Iterable[str]):
        self.lines = ["flowchart LR"]
        self.highlight = set(highlight)
        self.removed = set(removed)
        self.heads = {h.split(".")[0] for h in self.highlight | self.removed}  # `monitoring.gpu-b` -> `monitoring`
        self.styled: dict[str, list[str]] = {"changed": [], "removed": [], "persona": []}

    def node(self, key: str, text: str, shape: str = "[]", indent: int = 2) -> str:
        nid = node_id(key)
        self.lines.append(" " * indent + f"{nid}{shape[: len(shape) // 2]}{label(text)}{shape[len(shape) // 2 :]}")
        if key in self.removed:
            self.styled["removed"].append(nid)
        elif key in self.highlight or ("." not in key and key in self.heads):
            self.styled["changed"].append(nid)
        return nid

    def edge(self, a: str, b: str, text: str = "", dotted: bool = False) -> None:
        arrow = "-.->" if dotted else "-->"
        self.lines.append(f"  {a} {arrow}{'|' + label(text) + '|' if text else ''} {b}")

    def group(self, key: str, title: str) -> str:
        nid = node_id(key)
        if key in self.highlight:  # the component as a whole changed (a grant, a shared resource)
            self.styled["changed"].append(nid)
        self.lines.append(f"  subgraph {nid}[{label(title)}]")
        self.lines.append("    direction TB")
        return nid

    def end(self) -> None:
        self.lines.append("  end")

    def text(self) -> str:
        out = list(self.lines)
        out += [f"  {c}" for c in CLASSES]
        for cls, ids in self.styled.items():
            if ids:
                out.append(f"  class {','.join(ids)} {cls}")
        return "\n".join(out)


def mermaid(
    bp: Blueprint, env: str = "", *, highlight: Iterable[str] = (), removed: Iterable[str] = (), title: str = ""
) -> str:
    """The platform of one resolved environment (`loaded.envs[env].blueprint`) as a Mermaid flowchart.

    `highlight`: changed components (`data_lake.raw`, `serving`, ...); `removed`: keys of components the
    change removes, drawn in the `removed` style so a reader sees what goes away."""
    ch = _Chart(highlight, removed)
    c = bp.components
    removed_by: dict[str, list[str]] = {}
    present = {
        f"{comp}.{name}"
        for comp, names in (
            ("data_lake", c.data_lake.zones if c.data_lake else []),
            ("training", c.training.pools if c.training else {}),
            ("serving", c.serving.endpoints if c.serving else {}),
        )
        for name in names
    }
    for key in sorted(ch.removed):
        comp, _, name = key.partition(".")
        if name and key not in present:
            removed_by.setdefault(comp, []).append(name)
    if title or env:
        shown = " ".join(
            "".join(c for c in line if c.isprintable())
            for line in (title or f"{bp.metadata.name} ({env})").splitlines()
        )
        ch.lines.insert(0, f"---\ntitle: {json.dumps(shown)}\n---")

    zones: list[str] = []
    if c.data_lake:
        ch.group("data_lake", "data lake")
        zones = [ch.node(f"data_lake.{z}", z, "[()]", 4) for z in c.data_lake.zones]
        for z in removed_by.get("data_lake", []):
            ch.node(f"data_lake.{z}", f"{z} (removed)", "[()]", 4)
        ch.end()
        for a, b in zip(zones, zones[1:], strict=False):
            ch.edge(a, b)
    if c.catalog:
        ch.group("catalog", "catalog")
        dbs = {db: ch.node(f"catalog.{db}", f"database {db}", "[[]]", 4) for db in c.catalog.databases}
        ch.end()
        for db, spec in c.catalog.databases.items():
            for z in spec.zones:
                if c.data_lake and z in c.data_lake.zones:
                    ch.edge(node_id(f"data_lake.{z}"), dbs[db], "crawled", dotted=True)
    pools: list[str] = []
    if c.training:
        ch.group("training", "training")
        for name, pool in c.training.pools.items():
            text = f"pool {name}: {pool.accelerator} x{pool.gpus_per_node}, {pool.min_nodes}-{pool.max_nodes} nodes"
            pools.append(ch.node(f"training.{name}", text, "[]", 4))
        for name in removed_by.get("training", []):
            ch.node(f"training.{name}", f"pool {name} (removed)", "[]", 4)
        ch.end()
        if zones:
            for p in pools:
                ch.edge(zones[-1], p, "reads")
    models: dict[str, str] = {}
    if c.registry:
        ch.group("registry", "model registry")
        models = {m: ch.node(f"registry.{m}", f"model {m}", "[/\\]", 4) for m in c.registry.models}
        ch.end()
        for p in pools:
            for m in models.values():
                ch.edge(p, m, "writes")
    endpoints: list[str] = []
    if c.serving:
        ch.group("serving", "serving")
        for name, ep in c.serving.endpoints.items():
            text = f"endpoint {name}: {ep.size}, {ep.min_replicas}-{ep.max_replicas} replicas"
            endpoints.append(ch.node(f"serving.{name}", text, "([])", 4))
        for name in removed_by.get("serving", []):
            ch.node(f"serving.{name}", f"endpoint {name} (removed)", "([])", 4)
        ch.end()
        for ep_id, ep in zip(endpoints, c.serving.endpoints.values(), strict=True):
            if ep.model in models:
                ch.edge(models[ep.model], ep_id, "pulls")
    if c.monitoring:
        notify = ", ".join(c.monitoring.notify)
        mon = ch.node("monitoring", f"monitoring: alerts to {notify}", "{{}}")
        for target in endpoints + pools:
            ch.edge(mon, target, "watches", dotted=True)

    groups = {"lake": "data_lake", "catalog": "catalog", "training": "training", "registry": "registry"}
    for persona in type(bp.access).model_fields:
        grants = getattr(bp.access, persona)
        pid = node_id(f"persona.{persona}")
        ch.lines.append(f"  {pid}>{label(persona.replace('_', ' '))}]")
        ch.styled["persona"].append(pid)
        for field, comp in groups.items():
            if getattr(c, comp) is None:
                continue
            grant = getattr(grants, field)
            if field == "lake":
                verb = "writes" if grant.write else "reads" if grant.read else ""
            elif field == "training":
                verb = "runs jobs" if grant else ""
            else:
                verb = "" if grant == "none" else grant
            if verb:
                ch.edge(pid, node_id(comp), verb, dotted=True)
        if c.serving and grants.serving != "none":
            ch.edge(pid, node_id("serving"), grants.serving, dotted=True)
    return ch.text()
