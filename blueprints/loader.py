"""YAML -> validated Blueprint, per environment.

Errors name file:line:col, the dotted field path and a plain message. The loader
never prints and never exits: it raises `BlueprintError`, which the CLI renders.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from mlops_blueprint.blueprints import rules
from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.model import Blueprint, Components, Environment

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
    marks: dict[PathT, Mark] = field(default_factory=dict, compare=False, repr=False)


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


def _find_below(data: dict, marks: dict[PathT, Mark], here: PathT, name: str | int) -> PathT | None:
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
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: same marks, faster


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader that refuses duplicate keys (plain YAML keeps the last one silently) and reads booleans
    as YAML 1.2 does: only true and false. PyYAML (YAML 1.1) also reads yes/no/on/off as booleans, which
    editors, the JSON Schema's validators and other YAML 1.2 tools read as text; the blueprint means the
    same to all of them, and a bool field given `yes` is refused at its line with "write true or false"."""

    def construct_mapping(self, node, deep=False):
        seen: dict[object, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                m = key_node.start_mark
                raise _Duplicate(m.line + 1, m.column + 1, key, seen[key].start_mark.line + 1)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_BOOL = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
YAML11_BOOLS = frozenset(f(w) for w in ("yes", "no", "on", "off", "y", "n") for f in (str.lower, str.title, str.upper))


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
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BlueprintError([Problem(f, 1, 1, "", f"the blueprint is {size} bytes; the limit is {MAX_BYTES}")])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BlueprintError([Problem(f, 0, 0, "", "blueprint file not found")]) from None
    except (IsADirectoryError, PermissionError) as exc:
        raise BlueprintError([Problem(f, 0, 0, "", f"cannot read blueprint: {exc.strerror}")]) from None
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
    total = 0
    for event in yaml.parse(text, Loader=_Base):
        mark = event.start_mark
        where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append([1, event.anchor])
            if len(stack) - 1 > MAX_DEPTH:
                raise BlueprintError([Problem(f, *where, "", f"the blueprint nests deeper than {MAX_DEPTH} levels")])
            continue
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            count, anchor = stack.pop()
            if anchor:
                sizes[anchor] = count
            stack[-1][0] += count
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            stack[-1][0] += 1
        elif isinstance(event, yaml.AliasEvent):
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
        raise BlueprintError(
            [Problem(f, d.line, d.col, str(d.key), f"duplicate key {d.key!r} (first defined on line {d.first})")]
        ) from None
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        line, col = (m.line + 1, m.column + 1) if m else (0, 0)
        raise BlueprintError([Problem(f, line, col, "", f"YAML syntax error: {exc.problem or exc.context}")]) from None
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


def _position(exc: yaml.YAMLError, text: str) -> Mark:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return mark.line + 1, mark.column + 1
    pos = getattr(exc, "position", None)  # a ReaderError: a character offset into the text
    if isinstance(pos, int):
        return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1
    return 1, 1


def _locate(marks: dict[PathT, Mark], path: PathT) -> Mark:
    for n in range(len(path), -1, -1):
        if path[:n] in marks:
            return marks[path[:n]]
    return (1, 1)


def _pydantic_problems(f: str, exc: ValidationError, marks: dict[PathT, Mark], note: str = "") -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc: PathT = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r}; allowed here: {', '.join(_allowed_fields(loc[:-1]))}"
            line, col = marks.get(loc + ("<key>",), _locate(marks, loc))
        elif err["type"] == "missing":
            msg = f"required field {loc[-1]!r} is missing"
            line, col = _locate(marks, loc)
        else:
            line, col = _locate(marks, loc)
            if err["type"] == "literal_error":
                msg = f"{msg}; got {err['input']!r}"
            elif msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            elif "input" in err and not isinstance(err["input"], (dict, list)):
                msg = f"{msg} (got {err['input']!r})"
            if err["type"] == "bool_type" and isinstance(err.get("input"), str) and err["input"] in YAML11_BOOLS:
                msg += (
                    f"; {err['input']!r} is text in YAML 1.2 (and to editors and schema validators): "
                    "write true or false"
                )
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


def _validate(f: str, data: dict, marks: dict[PathT, Mark], env: str | None, note: str = "") -> Blueprint:
    try:
        bp = Blueprint.model_validate(data)
    except ValidationError as exc:
        raise BlueprintError(_pydantic_problems(f, exc, marks, note)) from None
    problems = [Problem(f, *_locate(marks, p), _dotted(p), m + note) for p, m in rules.check(bp, env)]
    if problems:
        raise BlueprintError(problems)
    return bp


def _apply_overrides(f: str, data: dict, env: str, marks: dict[PathT, Mark]) -> tuple[dict, dict[PathT, Mark]]:
    raw_env = (data.get("environments") or {}).get(env) or {}
    overrides = raw_env.get("overrides") or {}
    doc = copy.deepcopy(data)
    env_marks = dict(marks)
    problems: list[Problem] = []
    for dotted, value in overrides.items():
        where = marks.get(("environments", env, "overrides", dotted, "<key>"), (1, 1))
        opath = f"environments.{env}.overrides.{dotted}"
        parts = str(dotted).split(".")
        if parts[0] == "environments" or parts[0] in ("apiVersion", "kind"):
            problems.append(Problem(f, *where, opath, f"an override may not change {parts[0]!r}"))
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
                        f"no field {'.'.join(parts[: i + 1])!r} to override; there is: {', '.join(have) or 'nothing'}",
                    )
                )
                ok = False
                break
            if i < len(parts) - 1:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
        if not ok:
            continue
        node[parts[-1]] = copy.deepcopy(value)
        path = tuple(parts)
        for k in [k for k in env_marks if k[: len(path)] == path]:
            env_marks[k] = where
        env_marks[path] = where
    if problems:
        raise BlueprintError(problems)
    return doc, env_marks


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
    for env, settings in base.environments.items():
        try:
            doc, env_marks = _apply_overrides(f, data, env, marks)
            bp = _validate(f, doc, env_marks, env, note=f" (environment {env!r}, after its overrides)")
        except BlueprintError as exc:
            problems.extend(exc.problems)
            continue
        loaded.envs[env] = ResolvedEnv(env, bp, settings, env_marks)
    if problems:
        raise BlueprintError(problems)
    return loaded
