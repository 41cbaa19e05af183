"""Blueprint text is data: what every medium may show of a user's string, in one place.

Blueprints, plans and waivers arrive from pull requests. A string from them is never read as code or
markup by whatever shows or evaluates it next. This module holds the pieces every medium shares:
naming a character ("U+0430 CYRILLIC SMALL LETTER A"), finding the characters no name may hold
(control, bidi, zero-width, private use, unassigned), clipping a long value for a message, and
showing a value on a terminal with its unsafe characters written out as escapes. Each medium's own
escaping (Terraform JSON: `stacks/literal.py`; markdown, SARIF, JUnit, Mermaid: their writers) builds
on these.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# The longest value a message echoes (about 200 characters, then "… (N characters)").
ECHO_LIMIT = 200

# Unicode categories that no identifier and no single-line text may hold: controls (Cc: ESC, BEL, ...),
# format characters (Cf: the bidi controls U+202A-E and U+2066-9, zero-width U+200B-D, U+FEFF),
# surrogates (Cs), private use (Co), unassigned (Cn), and the line and paragraph separators (Zl, Zp).
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def describe_char(ch: str) -> str:
    """`U+0430 CYRILLIC SMALL LETTER A`; a character without a name is described by its category."""
    name = unicodedata.name(ch, "")
    if not name:
        name = {
            "Cc": "a control character",
            "Cs": "a surrogate",
            "Co": "a private-use character",
            "Cn": "an unassigned code point",
        }.get(unicodedata.category(ch), "a character without a name")
    return f"U+{ord(ch):04X} {name}"


def is_unsafe(ch: str, *, newline: bool = False, tab: bool = False) -> bool:
    """True for a character no name or single-line text may hold (`newline`/`tab` allow those two)."""
    if ch == "\n":
        return not newline
    if ch == "\t":
        return not tab
    return unicodedata.category(ch) in UNSAFE_CATEGORIES


def first_unsafe(text: str, *, newline: bool = False, tab: bool = False) -> tuple[int, str] | None:
    """The 1-based column and the character of the first unsafe character in `text`, or None."""
    for i, ch in enumerate(text):
        if is_unsafe(ch, newline=newline, tab=tab):
            return i + 1, ch
    return None


def first_non_ascii(text: str) -> tuple[int, str] | None:
    """The 1-based column and the character of the first character outside ASCII (a look-alike letter
    such as U+0430 in a name or region), or None."""
    for i, ch in enumerate(text):
        if ord(ch) > 0x7E:
            return i + 1, ch
    return None


def terminal_safe(text: str) -> str:
    """`text` with every unsafe character written as a visible escape (`\\x1b`, `\\u202e`), so a value
    can never move the cursor, open a link, recolour the screen or reverse what follows it."""
    if not any(is_unsafe(ch) for ch in text):
        return text
    out = []
    for ch in text:
        if not is_unsafe(ch):
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """At most `limit` characters of `text`, and how long it was when it was longer."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """A value as a message shows it: its repr for text (quoted, unsafe characters escaped by repr and
    by `terminal_safe`), clipped to about `limit` characters."""
    if isinstance(value, str):
        shown = repr(value[: limit + 1]) if len(value) > limit else repr(value)
        shown = terminal_safe(shown)
        return f"{shown[: limit + 2]}… ({len(value)} characters)" if len(value) > limit else shown
    return clip(terminal_safe(repr(value)), limit)


# --- markdown (GitHub-flavoured: a pull-request comment, a report file) ---------------------------------

# Backslash-escapable punctuation that would otherwise start markup: emphasis, code, links, raw HTML,
# entities, headings, strike-through, and the table's own cell separator. `_` only at a word edge
# (intraword underscores never emphasize, and ids such as MLOPS_AWS_001 stay readable).
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~&#!])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# What GitHub reads as a mention (`@user`, `@org/team`): an @ after no letter or digit, before one.
_MENTION = re.compile(r"(?<![A-Za-z0-9])@(?=[A-Za-z0-9])")


def _one_line(text: object) -> str:
    """Whitespace runs (newlines included: they would end a table row) as one space; every other unsafe
    character (ESC, NUL, bidi and zero-width controls) as a visible escape."""
    return terminal_safe(" ".join(str(text).split()))


def md_text(text: object) -> str:
    """User text as literal markdown on one line (a table cell, a list item, a heading): no markup, no
    raw HTML, no cell break, no mention that pings (`@everyone` gets a zero-width space after its @, as
    Dependabot and Renovate write it), no control or bidi character."""
    s = _MD_SPECIAL.sub(lambda m: "\\" + m[0], _one_line(text))
    return _MENTION.sub("@&#8203;", s)


def md_code(text: object, cell: bool = False) -> str:
    """User text as an inline code span: a fence longer than any backtick run in it; in a table `cell`,
    `|` escaped too (GFM splits cells on `|` even inside code spans, and drops the backslash there).
    A code span holds no markup and pings nobody; unsafe characters are visible escapes."""
    s = _one_line(text)
    if not s:
        return ""
    fence = "`" * (max((len(r) for r in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s.replace('|', chr(92) + '|') if cell else s}{pad}{fence}"


def md_block(lines: Iterable[object], lang: str = "") -> str:
    """Lines of user text as a fenced code block: the fence longer than any backtick run inside (no
    line can close it), each line's unsafe characters as visible escapes."""
    body = "\n".join(terminal_safe(str(line)) for line in lines)
    run = max((len(m) for m in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * max(3, run + 1)
    return f"{fence}{lang}\n{body}\n{fence}"


# --- SARIF and JUnit --------------------------------------------------------------------------------


def sarif_text(text: object) -> str:
    """A SARIF message (plain text a code-scanning UI shows): JSON escapes what it must by
    construction, and this writes control, bidi and zero-width characters as visible escapes, so a
    reason cannot reverse or hide what an alert says."""
    return terminal_safe(str(text))


def xml_text(text: object) -> str:
    """Text for an XML 1.0 document (a JUnit attribute or element): every character XML 1.0 cannot hold
    (NUL and the other C0 controls, lone surrogates, U+FFFE/U+FFFF) and every bidi or zero-width control
    as a visible escape; newlines stay. ElementTree escapes `<`, `&` and quotes, so `</testcase>` and
    `]]>` stay text."""
    return "\n".join(terminal_safe(line) for line in str(text).split("\n"))
