"""Placeholders: what `init` writes where a reference held its own organization's values (owner, cost
center, alert recipients, account, project, subscription and network ids, kubeconfig context).

Each placeholder validates, so that the new file can be read, synthesized and checked at once, and each
is flagged by `validate` (and every command) with a warning at its line, saying "replace the
placeholder", until it is replaced. A placeholder is any value that contains `replace-me` (in any case)
or the all-zero GUID, or is one of the all-zero ids below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MARK = "replace-me"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
OWNER = "replace-me@example.invalid"
NOTIFY = "replace-me-oncall@example.invalid"
COST_CENTER = "replace-me"


def notify(n: int) -> str:
    """The n-th alert recipient of a list (1: NOTIFY): a list holds each address once."""
    return NOTIFY if n == 1 else NOTIFY.replace("-oncall@", f"-oncall-{n}@")


# target field -> its placeholder (each one matches the field's pattern).
TARGET: dict[str, str] = {
    "account_id": "000000000000",
    "project_id": "replace-me-project",
    "billing_account": "000000-000000-000000",
    "subscription_id": ZERO_GUID,
    "runner_network": (
        f"/subscriptions/{ZERO_GUID}/resourceGroups/replace-me/providers/Microsoft.Network/virtualNetworks/replace-me"
    ),
    "kube_context": "replace-me-context",
    "storage_class": "replace-me-storage",
    "ingress_class": "replace-me-ingress",
    "object_store": "https://replace-me.example.invalid",
}
MARKED = "replace the placeholder"  # in every placeholder warning (init counts them by it)
ZERO_IDS = frozenset({TARGET["account_id"], TARGET["billing_account"]})

# What a placeholder stands for, by the name of its field (the last part of its path).
WHAT = {
    "owner": "the owning team's address",
    "cost_center": "your cost center",
    "notify": "the address that receives alerts",
}

Path = tuple[str | int, ...]


def is_placeholder(value: object) -> bool:
    if not isinstance(value, str):
        return False
    low = value.lower()
    return MARK in low or ZERO_GUID in low or value in ZERO_IDS


def _walk(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if is_placeholder(k):
                yield (*path, k), str(k)
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, i))
    elif is_placeholder(value):
        yield path, value


def found(doc: Any) -> Iterator[tuple[Path, str]]:
    """(path, value) of every placeholder in a blueprint's data (a model dump), environments' overrides
    included."""
    yield from _walk(doc, ())


def message(path: Path, value: str, target_fields: dict[str, str]) -> str:
    """The warning for one placeholder: what it is and what to write instead."""
    known = {**target_fields, **WHAT}
    parts = [part for p in path if isinstance(p, str) for part in p.split(".")]  # an override's dotted key too
    what = next((known[part] for part in reversed(parts) if part in known), "your own value")
    return f"{value} is a placeholder `init` wrote: {MARKED} with {what} before deploying"
