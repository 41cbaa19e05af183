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

import unicodedata

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
