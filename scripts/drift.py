"""`drift`: what was changed outside Terraform, by blueprint component.

    from mlops_blueprint.scripts import drift, pipeline
    found = drift.drift(pipeline.validate("blueprint.yaml"), "prod")
    raise SystemExit(drift.EXIT_DRIFT if any(d.items for d in found.values()) else 0)

Each environment gets a refresh-only plan (`terraform plan -refresh-only`: Terraform reads every
resource back and compares it with its state; nothing is applied). The plan's `resource_drift`
lists what differs; each entry is named by its blueprint component (`data_lake.raw`,
`training.gpu-a`) and the attributes that changed. A scheduled CI job runs it and fails on drift
(exit `EXIT_DRIFT`, 8).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.loader import LoadedBlueprint
from mlops_blueprint.scripts import pipeline
from mlops_blueprint.scripts.events import Event, StepLine
from mlops_blueprint.scripts.review import component_of, known_names

EXIT_DRIFT = 8


@dataclass(frozen=True)
class Drifted:
    address: str
    type: str
    component: str  # data_lake.raw, training.gpu-a, ...
    action: str  # changed | deleted (gone outside Terraform)
    attributes: tuple[str, ...]  # dotted paths that differ (`versioning_configuration.0.status`)
    before: dict[str, Any] = field(default_factory=dict)  # attribute -> value in the state
    after: dict[str, Any] = field(default_factory=dict)  # attribute -> value read back


@dataclass
class EnvDrift:
    env: str
    stack: str
    items: list[Drifted]

    def by_component(self) -> dict[str, list[Drifted]]:
        out: dict[str, list[Drifted]] = {}
        for d in sorted(self.items, key=lambda d: (d.component, d.address)):
            out.setdefault(d.component, []).append(d)
        return out


def _empty(v: Any) -> bool:
    return v is None or v == {} or v == [] or v == ""


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    if a == b or (_empty(a) and _empty(b)):  # null and empty read back alike: not a change
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            p for k in sorted(set(a) | set(b)) for p in _differences(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in _differences(x, y, f"{path}.{i}")]
    return [path or "(value)"]


def _at(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def _configured(expressions: Any, path: str) -> bool:
    """Whether the configuration sets the attribute at `path` (`scaling_config.0.max_size`): only what
    the blueprint declares counts as drift. What it leaves to the provider (computed attributes, the
    S3 bucket's inline copies of its own policy/versioning resources) is read back differently by
    design and would bury the real drift."""
    node = expressions
    for part in path.split("."):
        if isinstance(node, dict) and ("constant_value" in node or "references" in node):
            return True  # an expression sets the whole attribute, and everything below it
        if isinstance(node, list):
            node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return False
        if node is None:
            return False
    return True


def _expressions(plan: dict) -> dict[str, Any]:
    """address -> its configuration's expressions (the attributes the configuration sets)."""
    out: dict[str, Any] = {}
    stack = [("", plan.get("configuration", {}).get("root_module", {}))]
    while stack:
        prefix, module = stack.pop()
        for r in module.get("resources", []):
            out[prefix + r["address"]] = r.get("expressions", {})
        for name, call in module.get("module_calls", {}).items():
            stack.append((f"{prefix}module.{name}.", call.get("module", {})))
    return out


def drift_of(plan: dict, known: dict[str, list[str]]) -> list[Drifted]:
    """The `resource_drift` of a refresh-only plan, by component: resources deleted outside Terraform,
    and the attributes the configuration sets that now differ (see `_configured`)."""
    config = _expressions(plan)
    out = []
    for rc in plan.get("resource_drift", []):
        if rc.get("mode") == "data":
            continue
        change = rc.get("change", {})
        actions = change.get("actions", [])
        before, after = change.get("before") or {}, change.get("after")
        name = rc.get("name") or rc["address"].split(".")[-1]
        if after is None or "delete" in actions:
            out.append(Drifted(rc["address"], rc.get("type", ""), component_of(name, known), "deleted", ()))
            continue
        expressions = config.get(re.sub(r"\[[^\]]*\]$", "", rc["address"]))
        attrs = tuple(p for p in _differences(before, after) if expressions is None or _configured(expressions, p))
        if not attrs:
            continue
        out.append(
            Drifted(
                rc["address"],
                rc.get("type", ""),
                component_of(name, known),
                "changed",
                attrs,
                {a: _at(before, a) for a in attrs},
                {a: _at(after, a) for a in attrs},
            )
        )
    return out


def _lines_to(events: Callable[[Event], None], stack: str) -> Callable[[str], None]:
    return lambda line: events(StepLine(stack, line))


def drift(
    loaded: LoadedBlueprint,
    env: str | None = None,
    *,
    local: bool = False,
    mirror: str | None = None,
    outdir: Path | None = None,
    events: Callable[[Event], None] = pipeline._quiet,
) -> dict[str, EnvDrift]:
    """A refresh-only plan of each environment; env -> what changed outside Terraform."""
    from mlops_blueprint.scripts.terraform import Terraform

    cloud = registry.get(loaded.base.target.cloud)
    target = pipeline._target(loaded, local, mirror, events)
    results = pipeline.synth(loaded, env, outdir, local, events)
    glue = cloud.load("glue")
    out = {}
    for e, r in zip(loaded.select(env), results, strict=True):
        with pipeline._credentials(glue):
            glue.bootstrap_state(e, target, pipeline._reporter(events, r.stack))
        tf = Terraform(
            r.directory,
            stack=r.stack,
            env=dict(target.env),
            mirror=target.mirror,
            on_line=_lines_to(events, r.stack),
            **pipeline._emulator_watch(cloud, target),
        )
        with pipeline._step(events, r.stack, "terraform init", long=True):
            tf.init()
        with pipeline._step(events, r.stack, "terraform plan -refresh-only", long=True):
            plan = tf.plan_refresh_only()
        out[e.name] = EnvDrift(e.name, r.stack, drift_of(plan, known_names(e.blueprint)))
    return out


def _short(v: Any) -> str:
    s = v if isinstance(v, str) else json.dumps(v)
    return s if len(s) <= 60 else s[:57] + "..."


def lines(found: dict[str, EnvDrift]) -> list[str]:
    """Plain text, a line per drifted resource under its component (user text: plain, not markup)."""
    out = []
    for d in found.values():
        if not d.items:
            out.append(f"{d.stack}: no drift")
            continue
        out.append(f"{d.stack}: {len(d.items)} resource(s) changed outside Terraform")
        for component, items in d.by_component().items():
            out.append(f"  {component}")
            for x in items:
                if x.action == "deleted":
                    out.append(f"    {x.address}: deleted outside Terraform")
                    continue
                changes = ", ".join(f"{a} {_short(x.before[a])} -> {_short(x.after[a])}" for a in x.attributes)
                out.append(f"    {x.address}: {changes}")
    return out


def as_dict(found: dict[str, EnvDrift]) -> dict[str, Any]:
    return {
        e: {
            "stack": d.stack,
            "drift": bool(d.items),
            "components": {
                c: [
                    {
                        "address": x.address,
                        "type": x.type,
                        "action": x.action,
                        "attributes": {a: {"state": x.before.get(a), "actual": x.after.get(a)} for a in x.attributes},
                    }
                    for x in items
                ]
                for c, items in d.by_component().items()
            },
        }
        for e, d in found.items()
    }
