"""User text at `validate` (issue 19 s3): names refuse hidden and look-alike characters, free text refuses
hidden ones, each naming the character and its column; a bad cron says what a cron is.

Families, not examples: every hostile character below is put into every kind of string the model has
(a name, a map key, a region, an address, an id, one-line text, a description), and the whole model is
walked so that a string type added later without one of the two checks fails here.
"""

from __future__ import annotations

import copy
import json
import random
import re
import subprocess
import sys
import typing
import unicodedata

import pytest
import yaml
from pydantic import BaseModel, BeforeValidator, TypeAdapter, ValidationError

from mlops_blueprint.blueprints import model
from mlops_blueprint.blueprints.loader import BlueprintError, loads
from mlops_blueprint.blueprints.model import CRON, Blueprint, Cron
from tests.conftest import ROOT

SCHEMA = json.loads((ROOT / "blueprints" / "blueprint.schema.json").read_text())

# A blueprint with a string of every kind: names, map keys, a region, addresses, ids, one-line text
# (cost center, purpose, a waiver's reason), a multi-line description, an override key and a cron.
BASE = {
    "apiVersion": "mlops.blueprint/v1",
    "kind": "Blueprint",
    "metadata": {
        "name": "demo",
        "owner": "team@example.com",
        "cost_center": "cc-1234",
        "purpose": "fraud scoring for the card team",
    },
    "target": {"cloud": "aws", "region": "eu-central-1", "account_id": "123456789012"},
    "components": {
        "data_lake": {"zones": ["raw", "curated"]},
        "catalog": {
            "databases": {"sales": {"zones": ["raw"], "description": "orders\nand refunds"}},
            "crawl_schedule": "0 3 * * MON-FRI",
        },
        "training": {"pools": {"gpu": {"accelerator": "nvidia-a10g", "max_nodes": 2}}},
        "registry": {"models": ["m1"]},
        "serving": {"endpoints": {"api": {"model": "m1"}}},
        "monitoring": {"notify": ["oncall@example.com"]},
    },
    "environments": {"dev": {"protect_stateful": False, "overrides": {"baseline.budget.monthly_limit_usd": 50}}},
    "policies": {
        "allowed_regions": ["eu-central-1"],
        "waivers": [
            {
                "check": "MLOPS_AWS_007",
                "resource": "data_lake.raw",
                "reason": "replication is handled by the DR blueprint",
                "owner": "sec@example.com",
                "expires": "2099-03-31",
            }
        ],
    },
}

# (id, the text put into the value at column 2, the character the message names, is it a letter)
HOSTILE = [
    ("esc", "\x1b[31m", "\x1b", False),
    ("osc8", "\x1b]8;;http://x\x1b\\", "\x1b", False),
    ("rlo", "\u202e", "\u202e", False),
    ("zwsp", "\u200b", "\u200b", False),
    ("bom", "\ufeff", "\ufeff", False),
    ("cyrillic-a", "\u0430", "\u0430", True),
    ("greek-alpha", "\u0391", "\u0391", True),
    ("nul", "\x00", "\x00", False),
    ("bel", "\x07", "\x07", False),
    ("del", "\x7f", "\x7f", False),
    ("line-separator", "\u2028", "\u2028", False),
]
NAMES = {"\x1b": "U+001B ESCAPE", "\x00": "U+0000 NULL", "\x07": "U+0007 BELL", "\x7f": "U+007F DELETE"}


def _named(ch: str) -> str:
    return NAMES.get(ch) or f"U+{ord(ch):04X} {unicodedata.name(ch)}"


def _set(doc: dict, path: tuple, fn) -> None:
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = fn(node[path[-1]])


def _rekey(doc: dict, path: tuple, old: str, new: str) -> None:
    node = doc
    for p in path:
        node = node[p]
    node[new] = node.pop(old)


def _insert(value: str, text: str) -> str:
    return value[:1] + text + value[1:]  # at column 2


# Where a value is put: (kind, path to the value, the field path the problem names, free text?)
VALUES = [
    ("blueprint name", ("metadata", "name"), "metadata.name", False),
    ("region", ("target", "region"), "target.region", False),
    ("address", ("metadata", "owner"), "metadata.owner", False),
    ("account id", ("target", "account_id"), "target.account_id", False),
    ("zone in a list", ("components", "data_lake", "zones", 1), "components.data_lake.zones[1]", False),
    ("model in a list", ("components", "registry", "models", 0), "components.registry.models[0]", False),
    ("allowed region", ("policies", "allowed_regions", 0), "policies.allowed_regions[0]", False),
    ("waiver resource", ("policies", "waivers", 0, "resource"), "policies.waivers[0].resource", False),
    ("notify address", ("components", "monitoring", "notify", 0), "components.monitoring.notify[0]", False),
    ("cost center", ("metadata", "cost_center"), "metadata.cost_center", True),
    ("purpose", ("metadata", "purpose"), "metadata.purpose", True),
    ("waiver reason", ("policies", "waivers", 0, "reason"), "policies.waivers[0].reason", True),
    (
        "description",
        ("components", "catalog", "databases", "sales", "description"),
        "components.catalog.databases.sales.description",
        True,
    ),
]
# Map keys: (kind, path to the map, the key)
KEYS = [
    ("endpoint key", ("components", "serving", "endpoints"), "api"),
    ("pool key", ("components", "training", "pools"), "gpu"),
    ("database key", ("components", "catalog", "databases"), "sales"),
    ("environment key", ("environments",), "dev"),
    ("override key", ("environments", "dev", "overrides"), "baseline.budget.monthly_limit_usd"),
]


def _load(doc: dict):
    return loads(yaml.safe_dump(doc, allow_unicode=False, sort_keys=False), "bp.yaml")


def _problems(doc: dict) -> list:
    with pytest.raises(BlueprintError) as exc:
        _load(doc)
    return exc.value.problems


def test_the_base_blueprint_is_valid():
    _load(BASE)


@pytest.mark.parametrize(("cid", "text", "ch", "letter"), HOSTILE, ids=[h[0] for h in HOSTILE])
@pytest.mark.parametrize(("kind", "path", "field", "free"), VALUES, ids=[v[0] for v in VALUES])
def test_every_value_refuses_hidden_characters_and_names_refuse_look_alikes(
    cid, text, ch, letter, kind, path, field, free
):
    doc = copy.deepcopy(BASE)
    _set(doc, path, lambda v: _insert(v, text))
    if free and letter:  # a Cyrillic or Greek letter is text like any other
        _load(doc)
        return
    [problem] = _problems(doc)
    assert problem.path == field, (problem.path, field)
    assert f"{_named(ch)} at column 2:" in problem.message, problem.message
    assert problem.line > 1 and problem.col > 1  # the value's own line, not the file's start
    shown = str(problem)
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl") for c in shown), repr(shown)


@pytest.mark.parametrize(("cid", "text", "ch", "letter"), HOSTILE, ids=[h[0] for h in HOSTILE])
@pytest.mark.parametrize(("kind", "path", "key"), KEYS, ids=[k[0] for k in KEYS])
def test_every_map_key_refuses_hidden_and_look_alike_characters(cid, text, ch, letter, kind, path, key):
    doc = copy.deepcopy(BASE)
    _rekey(doc, path, key, _insert(key, text))
    problems = _problems(doc)
    mine = [p for p in problems if f"{_named(ch)} at column 2:" in p.message]
    assert mine, [p.message for p in problems]
    for p in problems:  # the key is shown in the field path, escaped
        assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl") for c in str(p)), repr(str(p))


@pytest.mark.parametrize("field", ["cost_center", "purpose"])
def test_a_line_break_in_one_line_text_is_refused_and_a_description_keeps_it(field):
    doc = copy.deepcopy(BASE)
    doc["metadata"][field] = doc["metadata"][field] + "\nowner: evil"
    [problem] = _problems(doc)
    assert problem.path == f"metadata.{field}" and "U+000A LINE FEED (a line break) at column" in problem.message
    doc = copy.deepcopy(BASE)
    doc["components"]["catalog"]["databases"]["sales"]["description"] = "line one\n\tline two"
    assert _load(doc).base.components.catalog.databases["sales"].description == "line one\n\tline two"


def test_the_look_alike_message_names_the_letter_and_the_rule():
    doc = copy.deepcopy(BASE)
    doc["target"]["region"] = "eu-\u0441entral-1"
    [problem] = _problems(doc)
    assert problem.message == (
        "U+0441 CYRILLIC SMALL LETTER ES at column 4: a region is ASCII letters, digits and hyphens"
    )


def test_a_long_value_gives_a_short_message():
    for path in (("metadata", "name"), ("metadata", "cost_center"), ("components", "catalog", "crawl_schedule")):
        doc = copy.deepcopy(BASE)
        _set(doc, path, lambda v: v + "\u202e" + "x" * 100_000)
        [problem] = _problems(doc)
        assert len(problem.message) < 400, (path, len(problem.message))


def test_an_override_value_is_checked_as_the_field_it_replaces():
    doc = copy.deepcopy(BASE)
    doc["environments"]["dev"]["overrides"]["metadata.cost_center"] = "cc\u202e1"
    [problem] = _problems(doc)
    assert "U+202E RIGHT-TO-LEFT OVERRIDE at column 3" in problem.message and "'dev'" in problem.message


# --- the model: no string without a check ---------------------------------------------------------


def _checks(metadata: typing.Iterable) -> set[str]:
    return {
        m.func.__qualname__.split(".")[0]
        for m in metadata
        if isinstance(m, BeforeValidator) and hasattr(m.func, "__qualname__")
    }


def _bare_strings(tp: object, where: str, seen: set) -> typing.Iterator[str]:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        inner, *meta = args
        if inner is str:
            if not _checks(meta) & {"plain_name", "plain_text", "_cron_form"}:
                yield where
            return
        yield from _bare_strings(inner, where, seen)
    elif tp is str:
        yield where
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return
        seen.add(tp)
        for name, hint in typing.get_type_hints(tp, include_extras=True).items():
            if name in tp.model_fields:
                yield from _bare_strings(hint, f"{tp.__name__}.{name}", seen)
    elif origin is typing.Literal or tp is model.JsonValue:
        return  # a fixed word; an override's value is validated as the field its key names
    else:
        for i, arg in enumerate(args):
            yield from _bare_strings(arg, f"{where}[{'key' if origin is dict and i == 0 else i}]", seen)


def test_every_string_of_the_model_carries_a_name_or_text_check():
    assert list(_bare_strings(Blueprint, "Blueprint", set())) == []


def test_the_walk_finds_a_bare_string():
    class Probe(BaseModel):
        a: dict[str, int]
        b: list[model.Name]
        c: str | None = None

    assert list(_bare_strings(Probe, "Probe", set())) == ["Probe.a[key]", "Probe.c[0]"]


# --- the schema says what validate says ------------------------------------------------------------


def _schema_errors(doc: dict) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [e.json_path for e in validator.iter_errors(json.loads(json.dumps(doc, default=str)))]


@pytest.mark.parametrize(("cid", "text", "ch", "letter"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_the_schema_refuses_what_editors_should_flag(cid, text, ch, letter):
    assert _schema_errors(BASE) == []
    for kind, path, _field, free in VALUES:
        doc = copy.deepcopy(BASE)
        _set(doc, path, lambda v: _insert(v, text))
        errors = _schema_errors(doc)
        if free and letter:
            assert errors == [], (kind, errors)
        else:
            assert errors, (kind, cid)
    for kind, path, key in KEYS:
        doc = copy.deepcopy(BASE)
        _rekey(doc, path, key, _insert(key, text))
        assert _schema_errors(doc), (kind, cid)


# --- cron -----------------------------------------------------------------------------------------

CRON_ADAPTER = TypeAdapter(Cron)


@pytest.mark.parametrize(
    ("cron", "says"),
    [
        ("0 3 * *", "it has 4 fields"),
        ("0 3 * * * *", "it has 6 fields"),
        ("0  3 * * *", "separated by single spaces"),
        ("60 3 * * *", "its minute field '60'"),
        ("0 24 * * *", "its hour field '24'"),
        ("0 3 32 * *", "its day of month field '32'"),
        ("0 3 * 13 *", "its month field '13'"),
        ("0 3 * * 1-5", "its weekday field '1-5'"),
        ("0 3 * * MON-FRY", "its weekday field 'MON-FRY'"),
        ("@daily", "it has 1 field"),
        ("cron(0 3 * * ? *)", "it has 6 fields"),
    ],
)
def test_a_bad_cron_says_what_a_cron_is_and_what_is_wrong(cron, says):
    with pytest.raises(ValidationError) as exc:
        CRON_ADAPTER.validate_python(cron)
    msg = exc.value.errors()[0]["msg"]
    assert "a 5-field cron (minute hour day month weekday)" in msg and says in msg, msg
    assert "(?:" not in msg and len(msg) < 400


def test_a_hidden_character_in_a_cron_is_named():
    with pytest.raises(ValidationError) as exc:
        CRON_ADAPTER.validate_python("0 3 * * MON\u202e")
    assert "U+202E RIGHT-TO-LEFT OVERRIDE at column 12" in exc.value.errors()[0]["msg"]


def test_validate_accepts_exactly_the_crons_the_schema_pattern_accepts():
    """A fixed-seed family of near-crons: the message is new, the set accepted is the pattern's."""
    rng = random.Random(19)
    pools = [
        ["*", "0", "59", "60", "*/15", "0-30", "30-0", "0,30", "7", "x", "*/99"],
        ["*", "0", "23", "24", "*/6", "8-18", "18-8", "8,20", "?", "-1"],
        ["*", "?", "1", "31", "32", "0", "1-15", "*/2", "1,15", "?,1"],
        ["*", "1", "12", "13", "0", "1-6", "*/3", "JAN", "01"],
        ["*", "?", "MON", "MON-FRI", "MON,WED", "1-5", "SUN", "FRY", "*/2", "mon"],
    ]
    accepted = refused = 0
    for _ in range(3000):
        fields = [rng.choice(pool) for pool in pools]
        if rng.random() < 0.1:
            fields.insert(rng.randrange(6), rng.choice(pools[0]))
        if rng.random() < 0.1:
            fields.pop(rng.randrange(len(fields)))
        cron = (" " if rng.random() < 0.95 else "  ").join(fields)
        matches = re.fullmatch(CRON, cron) is not None
        try:
            CRON_ADAPTER.validate_python(cron)
            ok = True
        except ValidationError as exc:
            ok = False
            msg = exc.errors()[0]["msg"]
            assert "runs backwards" in msg or "step" in msg or "a 5-field cron" in msg, msg
            if matches:  # the pattern took it: only the order check (a range low-high) may refuse
                assert "runs backwards" in msg or "larger than the field's range" in msg, (cron, msg)
        assert ok <= matches, cron
        accepted += ok
        refused += not ok
    assert accepted > 100 and refused > 100  # the family has both


# --- the CLI --------------------------------------------------------------------------------------


def _clean(stream: str) -> list[str]:
    return [c for c in stream if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


def _hostile_file(tmp_path, cid: str, text: str):
    doc = copy.deepcopy(BASE)
    _rekey(doc, ("components", "serving", "endpoints"), "api", _insert("api", text))
    _set(doc, ("metadata", "cost_center"), lambda v: v + "\n" if text.isalpha() else _insert(v, text))
    path = tmp_path / f"{cid}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=False, sort_keys=False))
    return path


@pytest.mark.parametrize(("cid", "text", "ch", "letter"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_validate_exits_2_with_a_location_and_no_raw_control_character(tmp_path, cid, text, ch, letter):
    from typer.testing import CliRunner

    from mlops_blueprint.scripts.cli import app

    path = str(_hostile_file(tmp_path, cid, text))
    r = CliRunner().invoke(app, ["validate", path])
    assert r.exit_code == 2, r.output
    assert re.search(
        rf"{re.escape(path)}:\d+:\d+: components\.serving\.endpoints\.\S+: {re.escape(_named(ch))}", r.stderr
    )
    assert re.search(rf"{re.escape(path)}:\d+:\d+: metadata\.cost_center: U\+", r.stderr), r.stderr
    assert _clean(r.stdout) == [] and _clean(r.stderr) == [], (_clean(r.stdout), _clean(r.stderr))
    assert "Traceback" not in r.output


def test_the_real_cli_writes_no_raw_control_character(tmp_path):
    """The installed entry point, in a process of its own, its streams read as bytes."""
    path = _hostile_file(tmp_path, "osc8", "\x1b]8;;http://x\x1b\\")
    cli = [sys.executable, "-m", "mlops_blueprint.scripts.cli", "validate", str(path)]
    result = subprocess.run(cli, capture_output=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert b"\x1b" not in result.stdout + result.stderr and "U+001B ESCAPE at column 2" in stderr, stderr
    assert f"{path}:" in stderr and "Traceback" not in stderr
