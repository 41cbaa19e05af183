"""Terraform's template rules for a string in a JSON configuration, as the tests need them.

Every JSON string (object keys included) is a template: `${ expr }` interpolates, `%{ directive }`
controls, `$${` and `%%{` are the literal `${` and `%{`; anything else is literal. `scan` returns the
literal text and every sequence Terraform would evaluate. `test_literal_text.py` checks these rules
against the real `terraform` binary.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Scanned:
    literal: str  # the text with the escapes resolved and each sequence left out
    sequences: list[str] = field(default_factory=list)  # each evaluated `${...}` / `%{...}`, whole


def _close(s: str, i: int) -> int:
    """The index after the `}` that closes the sequence opened at `s[i:i+2]` (brace depth, strings)."""
    depth, j, quote = 0, i + 1, False
    while j < len(s):
        c = s[j]
        if quote:
            if c == "\\":
                j += 2
                continue
            if c == '"':
                quote = False
        elif c == '"':
            quote = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(s)  # unterminated: Terraform refuses it; count it as a sequence all the same


def scan(s: str) -> Scanned:
    out: list[str] = []
    seqs: list[str] = []
    i = 0
    while i < len(s):
        if s.startswith("$${", i) or s.startswith("%%{", i):
            out.append(s[i + 1 : i + 3])
            i += 3
        elif s.startswith("${", i) or s.startswith("%{", i):
            end = _close(s, i)
            seqs.append(s[i:end])
            i = end
        else:
            out.append(s[i])
            i += 1
    return Scanned("".join(out), seqs)


def strings(doc: object):
    """Every string of a JSON document, object keys included."""
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            yield from strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from strings(v)
