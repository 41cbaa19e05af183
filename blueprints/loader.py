"""YAML -> validated Blueprint, per environment.

Errors name file:line:col, the dotted field path and a plain message. The loader
never prints and never exits: it raises `BlueprintError`, which the CLI renders.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from mlops_blueprint.blueprints import rules
from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.files import UnreadableFile, read_untrusted
from mlops_blueprint.blueprints.model import Blueprint, Components, Environment
from mlops_blueprint.blueprints.text import clip, echo, terminal_safe

Mark = tuple[int, int]  # 1-based line, column
PathT = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class BlueprintError(UserError):
    """A user error in a blueprint: one or more problems, each with a location (exit 2)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class ResolvedEnv:
    name: str
    blueprint: Blueprint  # the document with this environment's overrides applied
    settings: Environment
    # where each YAML path is (line, column), an overridden path pointing at its override's line
    marks: Mapping[PathT, Mark] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class LoadedBlueprint:
    path: Path
    base: Blueprint
    envs: dict[str, ResolvedEnv] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)  # allowed, but should change (e.g. a deprecated setting)
    marks: dict[PathT, Mark] = field(default_factory=dict, repr=False)  # YAML path -> (line, column)
    data: dict = field(default_factory=dict, repr=False)  # the document as read, before any override

    @property
    def name(self) -> str:
        return self.base.metadata.name

    def line_of(self, dotted: str, env: str | None = None) -> int:
        """The 1-based line a dotted path is written on, or its nearest ancestor's; 1 when nothing of it is.

        `dotted` is a field path (`components.serving.endpoints.fraud-api.min_replicas`, `zones[0]`) or a
        component name as findings carry it (`data_lake.raw`: the zone `raw` in the lake's zones;
        `serving.fraud-api`: that endpoint). With `env`, an overridden path is its override's line."""
        marks = self.envs[env].marks if env in self.envs and self.envs[env].marks else self.marks
        parts: list[str | int] = [int(i) if i else k for k, i in _TOKEN.findall(dotted)]
        if parts and parts[0] in Components.model_fields and parts[0] not in Blueprint.model_fields:
            parts.insert(0, "components")
        if tuple(parts) in marks:  # written as is (an override of a path the document leaves out, too)
            return marks[tuple(parts)][0]
        here: PathT = ()
        for part in parts:
            if here + (part,) in marks:
                here += (part,)
                continue
            found = _find_below(self.data, marks, here, part)
            if found is None:
                break
            here = found
        return marks[here][0] if here in marks else 1

    def select(self, env: str | None) -> list[ResolvedEnv]:
        """The environment asked for, or all of them in document order."""
        if env is None:
            return list(self.envs.values())
        if env not in self.envs:
            raise BlueprintError(
                [
                    Problem(
                        str(self.path),
                        1,
                        1,
                        "environments",
                        f"no environment {env!r}; this blueprint has: {', '.join(self.envs)}",
                    )
                ]
            )
        return [self.envs[env]]


_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _find_below(data: dict, marks: Mapping[PathT, Mark], here: PathT, name: str | int) -> PathT | None:
    """The shallowest path below `here` that is a key `name` or a list item whose value is `name`
    (the earliest in the file on a tie)."""
    node: object = data
    for part in here:
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    level: list[tuple[PathT, object]] = [(here, node)]
    while level:
        hits, below = [], []
        for path, value in level:
            items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
            for key, child in items:
                sub = path + (key,)
                if sub in marks and (key == name or (isinstance(value, list) and child == name)):
                    hits.append(sub)
                below.append((sub, child))
        if hits:
            return min(hits, key=lambda p: marks[p])
        level = below
    return None


def _dotted(path: PathT) -> str:
    """A field path as messages show it; a key from the blueprint is clipped and terminal-safe."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{_safe(str(part))}" if out else _safe(str(part)))
    return out


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: same marks, faster

_BOOL, _INT, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_MERGE, _TIMESTAMP = "tag:yaml.org,2002:merge", "tag:yaml.org,2002:timestamp"
# What YAML 1.1 resolves and YAML 1.2's core schema does not: its booleans, its numbers (replaced below
# by 1.2's), `=` (the "value" type) and `!`/`&`/`*` (the "yaml" type).
_YAML11_ONLY = {_BOOL, _INT, _FLOAT, "tag:yaml.org,2002:value", "tag:yaml.org,2002:yaml"}
# YAML 1.2 core schema numbers: no base 60 (`4:10`), no `0b`, no `_` separators, a leading 0 is decimal,
# octal is `0o17`, an exponent needs no dot (`1e3`).
_INT12 = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT12 = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _Refused(Exception):
    """A YAML shape the loader refuses, at its line and column."""

    def __init__(self, mark: yaml.Mark, message: str):
        self.line, self.col, self.message = mark.line + 1, mark.column + 1, message


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader that reads YAML 1.2 as editors, the JSON Schema's validators and other YAML 1.2 tools do,
    so a blueprint means the same to all of them, and refuses what a blueprint has no use for.

    - Booleans are only true and false. PyYAML (YAML 1.1) also reads yes/no/on/off; a bool field given
      `yes` is refused at its line with "write true or false".
    - Numbers are YAML 1.2's: `4:10` (YAML 1.1's base 60, 250), `0b101` and `1_000` are text, so a number
      field given one is refused at its line; `017` is 17 (not octal 15) and `0o17` is 15.
    - Duplicate keys are refused (plain YAML keeps the last one silently).
    - A key is plain text: a list or mapping as a key (`? [a, b]`) is refused at its line.
    - A merge key (`<<:`, YAML 1.1 only) is refused, with what to write instead.
    - A date that does not exist (`2027-02-30`) stays text, so the field that wants a date refuses it
      at its line; a value that an explicit tag cannot read (`!!int x`) is refused at its line."""

    def construct_mapping(self, node, deep=False):
        seen: dict[object, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                raise _Refused(key_node.start_mark, MERGE_MESSAGE)
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                raise _Refused(
                    key_node.start_mark,
                    f"a key must be plain text, not {kind} (a complex key, `? ...`); write the key as a name",
                )
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                shown = echo(key_node.value)
                raise _Refused(
                    key_node.start_mark,
                    f"a key must be plain text; {shown} is read as {_KIND.get(type(key).__name__, 'a value')}: "
                    "quote it if it is a name",
                )
            if key in seen:
                m = key_node.start_mark
                raise _Duplicate(m.line + 1, m.column + 1, key, seen[key].start_mark.line + 1)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            # a constructor that cannot read its scalar: an explicit tag on the wrong text (`!!int x`,
            # `!!bool maybe`, `!!timestamp x`)
            value = node.value if isinstance(node, yaml.ScalarNode) else ""
            tag = node.tag.rsplit(":", 1)[-1]
            raise _Refused(node.start_mark, f"{echo(value)} cannot be read as {tag} (YAML 1.2)") from None

    def construct_yaml_int12(self, node):
        value = self.construct_scalar(node)
        if not _INT12.match(value):
            raise ValueError(value)
        if len(value) > 30:
            raise _Refused(node.start_mark, f"a number of {len(value)} digits is too long for any field")
        sign, digits = (-1, value[1:]) if value[:1] == "-" else (1, value.lstrip("+"))
        if digits[:2] == "0o":
            return sign * int(digits[2:], 8)
        if digits[:2] in ("0x", "0X"):
            return sign * int(digits[2:], 16)
        return sign * int(digits, 10)

    def construct_yaml_float12(self, node):
        value = self.construct_scalar(node)
        if not _FLOAT12.match(value) and not _INT12.match(value):  # no base 60, no `_` (YAML 1.1 only)
            raise ValueError(value)
        return self.construct_yaml_float(node)

    def construct_yaml_timestamp_or_text(self, node):
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)  # not a real day: the field that wants a date says so


_KIND = {
    "NoneType": "null",
    "bool": "a boolean",
    "int": "a number",
    "float": "a number",
    "date": "a date",
    "datetime": "a timestamp",
    "bytes": "binary data",
}
MERGE_MESSAGE = (
    "merge keys (`<<:`) are YAML 1.1 only: YAML 1.2 editors and the JSON Schema read `<<` as a plain key. "
    "Repeat the fields here, or put an anchor on the whole mapping (`a: &common {...}`) and write its "
    "alias where it is wanted (`b: *common`)"
)

_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_INT, _INT12, list("-+0123456789"))
_Loader.add_implicit_resolver(_FLOAT, _FLOAT12, list("-+.0123456789"))
_Loader.add_constructor(_INT, _Loader.construct_yaml_int12)
_Loader.add_constructor(_FLOAT, _Loader.construct_yaml_float12)
_Loader.add_constructor(_TIMESTAMP, _Loader.construct_yaml_timestamp_or_text)
YAML11_BOOLS = frozenset(f(w) for w in ("yes", "no", "on", "off", "y", "n") for f in (str.lower, str.title, str.upper))
# YAML 1.1's number patterns (PyYAML's): a value one of them matches and YAML 1.2's do not is a number
# only to YAML 1.1: base 60 (`4:10`, `1:30.5`), binary (`0b101`), `_` separators (`1_000`).
_YAML11_NUMBERS = [
    rx for resolvers in _Base.yaml_implicit_resolvers.values() for tag, rx in resolvers if tag in (_INT, _FLOAT)
]


def yaml11_hint(value: object) -> str:
    """What YAML 1.1 (PyYAML's default, and older tools) made of a value that YAML 1.2 reads as text,
    as a hint for the field that refused the text; "" when it is not such a value."""
    if not isinstance(value, str) or len(value) > 64:
        return ""
    if value in YAML11_BOOLS:
        return f"; {echo(value)} is text in YAML 1.2 (and to editors and schema validators): write true or false"
    if any(rx.match(value) for rx in _YAML11_NUMBERS) and not (_INT12.match(value) or _FLOAT12.match(value)):
        try:
            old = yaml.load(value, Loader=_Base)  # noqa: S506 - the safe loader, on a short number
        except yaml.YAMLError:
            return ""
        if isinstance(old, (int, float)) and not isinstance(old, bool):
            how = "a base-60 number" if ":" in value else "a number"
            return (
                f"; {echo(value)} is text in YAML 1.2 (and to editors and schema validators), though YAML 1.1 "
                f"read it as {how}, {old!r}: write the number plainly, e.g. {old!r}"
            )
    return ""


class _Duplicate(Exception):
    def __init__(self, line: int, col: int, key: object, first: int):
        self.line, self.col, self.key, self.first = line, col, key, first


def _marks(node: yaml.Node, path: PathT, out: dict[PathT, Mark], key_mark: Mark | None = None) -> None:
    """Record, for every path, where a reader should look: the value for scalars, the key otherwise."""
    vm = (node.start_mark.line + 1, node.start_mark.column + 1)
    out[path] = vm if isinstance(node, yaml.ScalarNode) or key_mark is None else key_mark
    out[path + ("<key>",)] = key_mark or vm
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            _marks(v, path + (k.value,), out, (k.start_mark.line + 1, k.start_mark.column + 1))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _marks(v, path + (i,), out)


# Limits on what a blueprint may be before it is parsed or walked (blueprints arrive from pull
# requests, so they are untrusted). A real blueprint is a few kilobytes, a few hundred nodes deep 6.
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 50_000  # after alias expansion: ten anchors of ten aliases each would be 10^10


def _read(path: Path) -> tuple[dict, dict[PathT, Mark]]:
    f = str(path)
    try:
        raw = read_untrusted(path, MAX_BYTES, "the blueprint")
    except UnreadableFile as exc:
        where = (0, 0) if exc.missing else (1, 1)
        reason = "blueprint file not found" if exc.missing else exc.reason
        raise BlueprintError([Problem(f, *where, "", reason)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BlueprintError(
            [
                Problem(
                    f,
                    line,
                    col,
                    "",
                    f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded (save the file as UTF-8)",
                )
            ]
        ) from None
    return _parse(text, f)


def _guard(text: str, f: str) -> None:
    """Refuse, from the event stream and before anything is composed or walked, a document that is too
    big, too deep, or that expands through aliases past MAX_NODES ("billion laughs")."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise BlueprintError([Problem(f, 1, 1, "", f"the blueprint is larger than {MAX_BYTES} bytes")])
    sizes: dict[str, int] = {}  # anchor -> expanded node count
    stack: list[list] = [[0, None]]  # per open collection: [expanded nodes so far, its anchor]
    opened: dict[str, tuple[int, int] | None] = {}  # anchor -> where its collection opened, while it is open
    total = 0
    for event in yaml.parse(text, Loader=_Base):
        mark = event.start_mark
        where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append([1, event.anchor])
            if event.anchor:
                opened[event.anchor] = where
            if len(stack) - 1 > MAX_DEPTH:
                raise BlueprintError([Problem(f, *where, "", f"the blueprint nests deeper than {MAX_DEPTH} levels")])
            continue
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            count, anchor = stack.pop()
            if anchor:
                sizes[anchor] = count
                opened[anchor] = None
            stack[-1][0] += count
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
                opened[event.anchor] = None
            stack[-1][0] += 1
        elif isinstance(event, yaml.AliasEvent):
            start = opened.get(event.anchor or "")
            if start is not None:
                name = clip(terminal_safe(event.anchor or ""), 60)
                raise BlueprintError(
                    [
                        Problem(
                            f,
                            *where,
                            "",
                            f"the alias *{name} is inside the value its anchor &{name} names (line {start[0]}): "
                            "a value cannot contain itself; write the items out",
                        )
                    ]
                )
            stack[-1][0] += sizes.get(event.anchor or "", 1)
        else:
            continue
        total = sum(c for c, _ in stack)
        if total > MAX_NODES:
            raise BlueprintError(
                [
                    Problem(
                        f,
                        *where,
                        "",
                        f"the blueprint expands to more than {MAX_NODES} nodes "
                        "(aliases included); a blueprint needs far fewer",
                    )
                ]
            )


def _parse(text: str, f: str) -> tuple[dict, dict[PathT, Mark]]:
    try:
        _guard(text, f)
    except yaml.YAMLError:
        pass  # the loader below reports syntax errors with their location
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            raise BlueprintError([Problem(f, 1, 1, "", "the blueprint is empty")])
        data = loader.construct_document(node)
    except _Duplicate as d:
        key = d.key if isinstance(d.key, str) else repr(d.key)
        raise BlueprintError(
            [Problem(f, d.line, d.col, _safe(key), f"duplicate key {echo(d.key)} (first defined on line {d.first})")]
        ) from None
    except _Refused as r:
        raise BlueprintError([Problem(f, r.line, r.col, "", r.message)]) from None
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        line, col = (m.line + 1, m.column + 1) if m else (0, 0)
        tab = _tab_near(text, m) if m else None
        context = str(exc.context or "")
        if "duplicate anchor" in context and exc.context_mark is not None:
            message = (
                f"YAML error: {terminal_safe(clip(context.split(';')[0], 120))}, first defined on line "
                f"{exc.context_mark.line + 1}: give each anchor its own name"
            )
        elif tab is not None:
            line, col = tab
            message = (
                "YAML syntax error: a tab character is used for indentation here; YAML indents with spaces only: "
                "replace the tab with spaces"
            )
        else:
            message = f"YAML syntax error: {terminal_safe(str(exc.problem or exc.context))}"
        raise BlueprintError([Problem(f, line, col, "", message)]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error on a control character, which carries a position
        line, col = _position(exc, text)
        what = (
            getattr(exc, "name", None)
            and f"character {getattr(exc, 'character', '?')!r}: {getattr(exc, 'reason', exc)}"
        )
        raise BlueprintError([Problem(f, line, col, "", f"YAML error: {what or str(exc).splitlines()[0]}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise BlueprintError(
            [Problem(f, 1, 1, "", "the blueprint must be a mapping with apiVersion, kind, metadata, ...")]
        )
    marks: dict[PathT, Mark] = {}
    _marks(node, (), marks)
    return data, marks


def _tab_near(text: str, mark: yaml.Mark) -> Mark | None:
    """Where a tab stands in the indentation of the line a syntax error points at, or at the error
    itself, as (line, column); None when no tab is to blame."""
    lines = text.split("\n", mark.line + 1)
    if mark.line >= len(lines):
        return None
    line = lines[mark.line]
    if line[mark.column : mark.column + 1] == "\t":
        return mark.line + 1, mark.column + 1
    indent = line[: len(line) - len(line.lstrip(" \t-?:"))]
    if "\t" in indent:
        return mark.line + 1, indent.index("\t") + 1
    return None


def _safe(part: str) -> str:
    """A key as a field path shows it: clipped, with no character that could move the terminal."""
    return clip(terminal_safe(part))


def _position(exc: yaml.YAMLError, text: str) -> Mark:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return mark.line + 1, mark.column + 1
    pos = getattr(exc, "position", None)  # a ReaderError: a character offset into the text
    if isinstance(pos, int):
        return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1
    return 1, 1


def _locate(marks: Mapping[PathT, Mark], path: PathT) -> Mark:
    for n in range(len(path), -1, -1):
        if path[:n] in marks:
            return marks[path[:n]]
    return (1, 1)


def _pydantic_problems(f: str, exc: ValidationError, marks: Mapping[PathT, Mark], note: str = "") -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc: PathT = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {echo(loc[-1])}; allowed here: {', '.join(_allowed_fields(loc[:-1]))}"
            line, col = marks.get(loc + ("<key>",), _locate(marks, loc))
        elif err["type"] == "missing":
            msg = f"required field {echo(loc[-1])} is missing"
            line, col = _locate(marks, loc)
        else:
            line, col = _locate(marks, loc)
            if err["type"] == "literal_error":
                msg = f"{msg}; got {echo(err['input'])}"
            elif msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            elif "input" in err and not isinstance(err["input"], (dict, list)):
                msg = f"{msg} (got {echo(err['input'])})"
            if err["type"].startswith(("bool", "int", "float")) and isinstance(err.get("input"), str):
                msg += yaml11_hint(err["input"])
        out.append(Problem(f, line, col, _dotted(loc), msg + note))
    return out


def _allowed_fields(loc: PathT) -> list[str]:
    """Field names of the model at `loc` (best effort, for the 'unknown field' message)."""
    model: type = Blueprint
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            # a dict keyed by logical name: step into its value type
            args = getattr(model, "__args__", ())
            model = args[-1] if args else model
            continue
        ann = fields[part].annotation
        model = _unwrap(ann)
        if hasattr(model, "__args__") and not hasattr(model, "model_fields"):
            model = _unwrap(model.__args__[-1])
    return sorted(getattr(model, "model_fields", {}))


def _unwrap(ann: object) -> type:
    for _ in range(4):
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (typing.Union, types.UnionType):
            ann = next(a for a in typing.get_args(ann) if a is not type(None))
        elif origin is dict:
            ann = typing.get_args(ann)[1]
            ann = _unwrap(ann)
            break
        else:
            break
    return ann  # type: ignore[return-value]


def _model(f: str, data: dict, marks: Mapping[PathT, Mark], note: str = "") -> Blueprint:
    try:
        return Blueprint.model_validate(data)
    except ValidationError as exc:
        raise BlueprintError(_pydantic_problems(f, exc, marks, note)) from None


def _validate(f: str, data: dict, marks: Mapping[PathT, Mark], env: str | None, note: str = "") -> Blueprint:
    bp = _model(f, data, marks, note)
    problems = [Problem(f, *_locate(marks, p), _dotted(p), m + note) for p, m in rules.check(bp, env)]
    if problems:
        raise BlueprintError(problems)
    return bp


class EnvMarks(Mapping[PathT, Mark]):
    """An environment's marks: the document's, with every overridden path (and every path below it)
    pointing at its override's line. An overlay, so the document's marks are shared by every
    environment instead of copied per environment (a copy each made 2,000 environments quadratic)."""

    def __init__(self, base: Mapping[PathT, Mark], overridden: dict[PathT, tuple[int, Mark]]):
        self._base = base
        self._over = overridden  # path -> (the override's order, its mark): the later override wins

    def __getitem__(self, key: PathT) -> Mark:
        best: tuple[int, Mark] | None = None
        for n in range(len(key), 0, -1):
            hit = self._over.get(key[:n])
            if hit is not None and (n == len(key) or key in self._base) and (best is None or hit[0] > best[0]):
                best = hit
        if best is not None:
            return best[1]
        return self._base[key]

    def __contains__(self, key: object) -> bool:
        return key in self._base or key in self._over

    def __iter__(self) -> Iterator[PathT]:
        yield from self._base
        yield from (k for k in self._over if k not in self._base)

    def __len__(self) -> int:
        return len(self._base) + sum(1 for k in self._over if k not in self._base)

    def __bool__(self) -> bool:
        return bool(self._base) or bool(self._over)


def _apply_overrides(
    f: str, data: dict, env: str, marks: Mapping[PathT, Mark]
) -> tuple[dict, Mapping[PathT, Mark], bool]:
    """This environment's document, its marks, and whether it has overrides.

    The document holds this environment alone under `environments` (the others are not its business and
    were validated with the base) and shares every subtree no override changes with `data`: only the
    mappings on an override's path are copied. Time and memory grow with the overrides, not the document."""
    raw_env = (data.get("environments") or {}).get(env) or {}
    overrides = raw_env.get("overrides") or {}
    doc = dict(data)
    doc["environments"] = {env: raw_env}
    own = {id(doc)}  # the mappings this environment copied, and may change
    overridden: dict[PathT, tuple[int, Mark]] = {}
    problems: list[Problem] = []
    for order, (dotted, value) in enumerate(overrides.items()):
        where = marks.get(("environments", env, "overrides", dotted, "<key>"), (1, 1))
        opath = f"environments.{_safe(env)}.overrides.{_safe(str(dotted))}"
        parts = str(dotted).split(".")
        if parts[0] == "environments" or parts[0] in ("apiVersion", "kind"):
            problems.append(Problem(f, *where, opath, f"an override may not change {echo(parts[0])}"))
            continue
        node = doc
        ok = True
        for i, part in enumerate(parts):
            fields = _allowed_fields(tuple(parts[:i]))
            present = isinstance(node, dict) and part in node
            if not present and part not in fields:
                have = sorted(set(fields) | (set(map(str, node)) if isinstance(node, dict) else set()))
                problems.append(
                    Problem(
                        f,
                        *where,
                        opath,
                        f"no field {echo('.'.join(parts[: i + 1]))} to override; there is: "
                        f"{clip(', '.join(map(_safe, have)) or 'nothing', 2000)}",
                    )
                )
                ok = False
                break
            if i < len(parts) - 1:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                elif id(child) not in own:
                    child = dict(child)
                node[part] = child
                own.add(id(child))
                node = child
        if not ok:
            continue
        node[parts[-1]] = copy.deepcopy(value)
        overridden[tuple(parts)] = (order, where)
    if problems:
        raise BlueprintError(problems)
    return doc, EnvMarks(marks, overridden), bool(overrides)


def load(path: str | Path) -> LoadedBlueprint:
    """Read, validate and resolve every environment of a blueprint file."""
    data, marks = _read(Path(path))
    return _resolve(Path(path), data, marks)


def loads(text: str, name: str = "<string>") -> LoadedBlueprint:
    """Validate a blueprint given as YAML text; `name` stands for the file in error locations."""
    data, marks = _parse(text, name)
    return _resolve(Path(name), data, marks)


def from_dict(data: dict, name: str = "<dict>") -> LoadedBlueprint:
    """Validate a blueprint given as a mapping (no line numbers: errors point at the field path)."""
    if not isinstance(data, dict):
        raise BlueprintError(
            [Problem(name, 1, 1, "", "the blueprint must be a mapping with apiVersion, kind, metadata, ...")]
        )
    return _resolve(Path(name), copy.deepcopy(data), {})


def _resolve(p: Path, data: dict, marks: dict[PathT, Mark]) -> LoadedBlueprint:
    f = str(p)
    base = _validate(f, data, marks, None)
    loaded = LoadedBlueprint(path=p, base=base, marks=marks, data=data)
    loaded.warnings = [Problem(f, *_locate(marks, path), _dotted(path), m) for path, m in rules.warnings(base)]
    problems: list[Problem] = []
    # Environments with the same overrides validate to the same model: validate each such set once.
    # The model holds every environment's settings (the base's), whichever environment it was made for.
    # An environment's document holds its own environment only, so `environments` is never "touched".
    models: dict[str, Blueprint] = {}
    for env, settings in base.environments.items():
        note = f" (environment {_safe(env)!r}, after its overrides)"
        try:
            doc, env_marks, changed = _apply_overrides(f, data, env, marks)
            key = repr(list(doc["environments"][env].get("overrides", {}).items())) if changed else ""
            bp = base if not changed else models.get(key)
            if bp is None:
                # The sections no override touches validate to the base's (a section's validators see that
                # section only): keep the base's, so each environment holds only what its overrides changed.
                touched = {str(k).split(".")[0] for k in doc["environments"][env].get("overrides", {})}
                same = {name: getattr(base, name) for name in Blueprint.model_fields if name not in touched}
                bp = _model(f, doc, env_marks, note).model_copy(update=same)
                models[key] = bp
            found = rules.check(bp, env)
            if found:
                raise BlueprintError([Problem(f, *_locate(env_marks, q), _dotted(q), m + note) for q, m in found])
        except BlueprintError as exc:
            problems.extend(exc.problems)
            continue
        loaded.envs[env] = ResolvedEnv(env, bp, settings, env_marks)
    if problems:
        raise BlueprintError(problems)
    return loaded
