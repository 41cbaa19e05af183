"""Blueprint text is data at the Terraform boundary: no string from a blueprint reaches a stack as a template.

Terraform evaluates `${...}` and `%{...}` in every string of a JSON configuration, keys included, so a
blueprint from a pull request that wrote `owner: '${file("/etc/hostname")}@x.io'` would make `plan` read
a file on the runner. And CDK Terrain reads `${TfToken[...]}`, `#{TfToken[...]}` and `&{TfToken[...]}` in
any string as its own references, and a raw `${` as an expression to splice.

The choice: escape, at one depth, at the synth boundary. `stacks.build` hands every stack a copy of its
environment in which each blueprint string has its `${`, `%{`, `#{` and `&{` replaced by a sentinel word
(letters only, derived from a hash of all the blueprint's text, so no blueprint can contain its own
sentinel). Nothing in the constructs, in CDK Terrain or in jsii can read a sentinel as code. When a stack
has been written (`finish`, right after the app's synth), each sentinel becomes Terraform's escape: `$${` and `%%{` (which
Terraform turns back into the literal `${` and `%{`), `#{` and `&{` (not special to Terraform). The
stack's own references (`${aws_s3_bucket.raw.arn}`) never pass through the sentinel, so they keep working.
A sentinel that a construct cut off or sanitized before its `{` becomes the bare character, never a
sequence. Forgetting the second step could not make text code: a sentinel is plain letters.

The text arrives literally at every depth: a dashboard body, a Helm values document or a Kubernetes
manifest that embeds a description is one string in the stack, evaluated by Terraform once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from mlops_blueprint.blueprints.loader import ResolvedEnv

# A character that starts a sequence when a `{` follows it, and what it becomes in Terraform JSON.
SEQUENCES = {"$": "$$", "%": "%%", "#": "#", "&": "&"}
_KIND = dict(zip(SEQUENCES, "dpha", strict=True))
# An opener before a `{`, or the `$`s that end the text (a construct may put its own `${ref}` right after
# them, and `$` + `${` would be Terraform's escape).
_OPENER = re.compile(r"([$%#&])(?=\{)|(\$+)\Z")

T = TypeVar("T")


def strings(value: object) -> list[str]:
    """Every string in a blueprint model: field values, map keys, list items, at any depth."""
    out: list[str] = []

    def keep(s: str) -> str:
        out.append(s)
        return s

    _walk(value, keep)
    return out


def _walk(value: Any, f: Callable[[str], str]) -> Any:
    """`value` with `f` applied to every string in it (keys too); unchanged parts are the same objects."""
    if isinstance(value, Enum):
        return value
    if type(value) is str:
        new = f(value)
        return value if new == value else new
    if isinstance(value, BaseModel):
        update = {}
        for name in type(value).model_fields:
            old = getattr(value, name)
            new = _walk(old, f)
            if new is not old:
                update[name] = new
        return value.model_copy(update=update) if update else value
    if isinstance(value, dict):
        items = [(_walk(k, f), _walk(v, f)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, (list, tuple, set, frozenset)):
        seq = [_walk(v, f) for v in value]
        if all(a is b for a, b in zip(seq, value, strict=True)):
            return value
        return type(value)(seq)
    return value


@dataclass(frozen=True)
class LiteralText:
    """The sentinel of one synth: `nonce` + a kind letter (`d` `$`, `p` `%`, `h` `#`, `a` `&`)."""

    nonce: str

    @classmethod
    def of(cls, envs: list[ResolvedEnv]) -> LiteralText:
        """A sentinel no string of these environments contains: letters from a hash of all their text."""
        h = hashlib.sha256(b"mlops-blueprint literal text\0")
        for env in envs:
            for s in strings(env.blueprint) + strings(env.settings):
                h.update(s.encode("utf-8", "surrogatepass") + b"\0")
        letters = "".join(chr(ord("g") + int(c, 16)) for c in h.hexdigest()[:14])
        return cls(f"zz{letters}")

    def escape(self, text: str) -> str:
        """`text` with every sequence opener replaced by the sentinel (same text when there is none)."""
        if "{" not in text and not text.endswith("$"):
            return text
        return _OPENER.sub(lambda m: self.nonce + (_KIND[m.group(1)] if m.group(1) else "t" * len(m.group(2))), text)

    def env(self, env: ResolvedEnv) -> ResolvedEnv:
        """A copy of `env` whose blueprint and settings hold escaped text; `env` when nothing changes."""
        blueprint, settings = _walk(env.blueprint, self.escape), _walk(env.settings, self.escape)
        if blueprint is env.blueprint and settings is env.settings:
            return env
        return replace(env, blueprint=blueprint, settings=settings)

    def restore(self, doc: T) -> T:
        """A synthesized stack document with each sentinel turned into Terraform's literal form."""
        pattern = re.compile(re.escape(self.nonce) + r"(?:([dpha])(\{)?|(t+)(?=(\$\{))?)")
        to_char = {v: k for k, v in _KIND.items()}

        def sub(m: re.Match[str]) -> str:
            if m.group(3):  # the `$`s that ended a text
                dollars = "$" * len(m.group(3))
                # the stack's own `${` right after them: written as an expression, which Terraform has
                # no other way to put right before a sequence
                return '${"' + dollars + '"}' if m.group(4) else dollars
            char = to_char[m.group(1)]
            return SEQUENCES[char] + "{" if m.group(2) else char

        def fix(s: str) -> str:
            return pattern.sub(sub, s) if self.nonce in s else s

        return _walk(doc, fix)

    def finish(self, folder: Path) -> bool:
        """Rewrite `folder`'s cdk.tf.json with each sentinel in Terraform's literal form; True when it held
        one. (Done on the written file: a jsii round trip of the document would drop its null values.)"""
        path = Path(folder) / "cdk.tf.json"
        raw = path.read_text(encoding="utf-8")
        if self.nonce not in raw:
            return False
        doc = self.restore(json.loads(raw))
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return True
