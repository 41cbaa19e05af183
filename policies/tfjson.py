"""Reading a synthesized Terraform JSON document: resources, references, component paths."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlops_blueprint.blueprints import registry

REF = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\.[a-z_0-9\[\]\.]+)?\}")


class Doc:
    def __init__(self, doc: dict):
        self.doc = doc
        self.res: dict[str, dict[str, dict]] = doc.get("resource", {})

    def of(self, *types: str) -> Iterator[tuple[str, dict]]:
        for t in types:
            for name, body in self.res.get(t, {}).items():
                yield f"{t}.{name}", body

    def get(self, address: str) -> dict | None:
        t, _, name = address.partition(".")
        return self.res.get(t, {}).get(name)

    def referencing(self, rtype: str, target: str, attr: str) -> list[tuple[str, dict]]:
        """Resources of `rtype` whose `attr` references the resource at `target`."""
        return [(a, b) for a, b in self.of(rtype) if target in refs(b.get(attr))]

    def environment(self) -> str:
        """The blueprint environment the stack was made for: its metadata's; for a document without it,
        what its cloud reads off the provider block."""
        named = registry.stack_metadata(self.doc).get("environment")
        if isinstance(named, str):
            return named
        cloud = registry.cloud_of_doc(self.doc)
        return cloud.environment_of(self.doc) if cloud else ""

    def cloud(self) -> str:
        """The registered cloud whose provider the stack configures ("" when none)."""
        cloud = registry.cloud_of_doc(self.doc)
        return cloud.name if cloud else ""

    def subject(self, address: str) -> str:
        """The blueprint name of a resource: `component.logical` from its construct path."""
        body = self.get(address) or {}
        path = body.get("//", {}).get("metadata", {}).get("path", "")
        parts = path.split("/")[1:]
        if len(parts) >= 3 and parts[-1] in (
            "bucket",
            "public-access",
            "encryption",
            "versioning",
            "lifecycle",
            "tls-only",
            "ownership",
        ):
            parts = parts[:-1]
        return ".".join(parts[:2]) if parts else address


def refs(value: object) -> set[str]:
    """Every `type.name` a value references through ${...} interpolation."""
    out: set[str] = set()
    if isinstance(value, str):
        out.update(f"{t}.{n}" for t, n in REF.findall(value))
    elif isinstance(value, dict):
        for v in value.values():
            out |= refs(v)
    elif isinstance(value, list):
        for v in value:
            out |= refs(v)
    return out


def block(body: dict, *path: str) -> dict:
    """A nested block by path; Terraform JSON writes a single block as an object or a one-item list."""
    cur: object = body
    for key in path:
        if isinstance(cur, list):
            cur = cur[0] if cur else {}
        cur = (cur or {}).get(key) if isinstance(cur, dict) else None
    if isinstance(cur, list):
        cur = cur[0] if cur else {}
    return cur if isinstance(cur, dict) else {}


def as_list(v: object) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]
