"""Inputs that are not plain files, and YAML shapes that broke the loader: each is refused at its line.

Families, not single examples (issue 19, section 2): every kind of file that is not a regular file
(for the blueprint, the `--base` blueprint and `--plan-dir` plans), aliases that contain themselves,
keys that are not plain text, dates that do not exist, YAML 1.1 numbers and merge keys (the loader
reads YAML 1.2, as editors and the JSON Schema do), tabs in the indentation, explicit tags on text they
cannot read, and anchors defined twice. Each case raises `BlueprintError` (exit 2) with the line and
column of the culprit, and the CLI prints `file:line:col` with no traceback, for one case per family.
"""

import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlops_blueprint.blueprints import BlueprintError, load
from mlops_blueprint.blueprints.files import UnreadableFile, read_untrusted
from mlops_blueprint.blueprints.loader import loads
from mlops_blueprint.policies.change import NotAPlan
from mlops_blueprint.scripts import pipeline, review
from tests.conftest import ROOT

STARTER = (ROOT / "blueprints" / "reference" / "starter.yaml").read_text()
CLI = Path(sys.executable).parent / "mlops-blueprint"


def edit(old: str, new: str, text: str = STARTER) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def at(text: str, needle: str) -> tuple[int, int]:
    """The 1-based line and column where `needle` starts in `text`."""
    i = text.index(needle)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def refused(text: str):
    with pytest.raises(BlueprintError) as exc:
        loads(text, "bp.yaml")
    return exc.value.problems


def only(text: str):
    [problem] = refused(text)
    return problem


@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (a named pipe read without O_NONBLOCK waits for a writer forever)."""

    def expire(*_):
        raise TimeoutError(f"no answer within {seconds}s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def cli_validate(path: Path) -> subprocess.CompletedProcess:
    cmd = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "mlops_blueprint.scripts.cli"]
    before = sorted(os.listdir(path.parent))
    p = subprocess.run([*cmd, "validate", str(path)], capture_output=True, text=True, timeout=60)
    assert sorted(os.listdir(path.parent)) == before, "validate wrote something"
    assert "Traceback" not in p.stdout + p.stderr, p.stderr[-2000:]
    return p


def assert_cli_refuses(tmp_path: Path, text: str, line: int, col: int, words: str) -> None:
    path = tmp_path / "bp.yaml"
    path.write_text(text)
    p = cli_validate(path)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert f"{path}:{line}:{col}:" in p.stderr and words in p.stderr, p.stderr


# --- files that are not regular files ----------------------------------------------------------------


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _socket(p: Path) -> None:
    here = os.getcwd()
    os.chdir(p.parent)  # a socket's path is at most 108 bytes: bind the short relative name
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(p.name)
    finally:
        os.chdir(here)


NOT_FILES = {
    "named pipe": (_fifo, "a named pipe (FIFO)"),
    "symlink to /dev/zero": (lambda p: p.symlink_to("/dev/zero"), "a symlink to /dev/zero, a character device"),
    "symlink to /dev/urandom": (
        lambda p: p.symlink_to("/dev/urandom"),
        "a symlink to /dev/urandom, a character device",
    ),
    "symlink to /dev/null": (lambda p: p.symlink_to("/dev/null"), "a character device"),
    "directory": (lambda p: p.mkdir(), "a directory"),
    "symlink to a directory": (lambda p: p.symlink_to(p.parent), "a symlink to"),
    "socket": (_socket, "a socket"),
}


@pytest.fixture(params=sorted(NOT_FILES))
def not_a_file(request, tmp_path):
    make, kind = NOT_FILES[request.param]
    path = tmp_path / "x.yaml"
    make(path)
    return path, kind


def test_a_blueprint_that_is_not_a_regular_file_is_refused_before_it_is_read(not_a_file):
    path, kind = not_a_file
    with deadline(10), pytest.raises(BlueprintError) as exc:
        load(path)
    [p] = exc.value.problems
    assert (p.line, p.col) == (1, 1)
    assert "must be a regular file" in p.message and kind in p.message, p.message


def test_a_plan_that_is_not_a_regular_file_is_refused_before_it_is_read(not_a_file):
    path, kind = not_a_file
    with deadline(10), pytest.raises(UnreadableFile) as exc:
        read_untrusted(path, 1024, "the plan")
    assert str(exc.value).startswith(f"{path}:1:1: the plan must be a regular file") and kind in str(exc.value)


@pytest.mark.parametrize("kind", ["named pipe", "symlink to /dev/zero", "directory"])
def test_plan_dir_files_and_the_base_blueprint_are_refused_the_same_way(tmp_path, kind):
    loaded = load(ROOT / "blueprints" / "reference" / "starter.yaml")
    plans = tmp_path / "plans"
    plans.mkdir()
    make, words = NOT_FILES[kind]
    make(plans / "dev.json")
    with deadline(10), pytest.raises(NotAPlan) as exc:
        review.read_plans(plans, loaded, ["dev"])
    assert str(exc.value).startswith(f"{plans / 'dev.json'}:1:1:") and words in str(exc.value)
    base = tmp_path / "base.yaml"
    make(base)
    if kind != "directory":  # a directory may be a git ref's name: review tries git for it
        with deadline(10), pytest.raises(BlueprintError) as bexc:
            review.load_base(str(base), ROOT / "blueprints" / "reference" / "starter.yaml")
        assert words in bexc.value.problems[0].message


@pytest.mark.parametrize("kind", ["named pipe", "symlink to /dev/urandom", "socket"])
def test_check_plan_that_is_not_a_regular_file_is_refused_before_synth(tmp_path, kind):
    loaded = load(ROOT / "blueprints" / "reference" / "starter.yaml")
    make, words = NOT_FILES[kind]
    plan = tmp_path / "plan.json"
    make(plan)
    with deadline(10), pytest.raises(NotAPlan) as exc:
        pipeline.check(loaded, env="dev", outdir=tmp_path / "out", plan=plan)
    assert str(exc.value).startswith(f"{plan}:1:1: the plan must be a regular file") and words in str(exc.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("size", [0, 1, 10])
def test_reads_stop_at_the_limit(tmp_path, size):
    path = tmp_path / "f"
    path.write_bytes(b"x" * (10 + size))
    if size == 0:
        assert read_untrusted(path, 10, "the plan") == b"x" * 10
    else:
        with pytest.raises(UnreadableFile, match="the limit is 10"):
            read_untrusted(path, 10, "the plan")


def test_a_missing_file_and_a_dangling_symlink_are_not_found(tmp_path):
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere")
    for name in ("absent.yaml", "dangling.yaml"):
        with pytest.raises(BlueprintError, match="blueprint file not found"):
            load(tmp_path / name)


def test_cli_refuses_a_named_pipe_at_once(tmp_path):
    path = tmp_path / "bp.yaml"
    os.mkfifo(path)
    p = cli_validate(path)
    assert p.returncode == 2 and f"{path}:1:1: the blueprint must be a regular file" in p.stderr, p.stderr


# --- aliases that contain themselves -----------------------------------------------------------------

RECURSIVE = {
    "flow list": ("models: [fraud]", "models: &m [fraud, *m]", "*m"),
    "block list": ("models: [fraud]", "models: &m\n      - fraud\n      - *m", "*m"),
    "flow mapping": ("retention_days: {raw: 365}", "retention_days: &r {raw: 365, again: *r}", "*r"),
    "block mapping": ("retention_days: {raw: 365}", "retention_days: &r\n      raw: 365\n      again: *r", "*r"),
    "deep inside": ("models: [fraud]", "models: &m [fraud, [a, [b, {c: [*m]}]]]", "*m"),
    "list in a mapping": ("notify: [ml-oncall@example.com]", "notify: &n [{to: *n}]", "*n"),
}


@pytest.mark.parametrize("shape", sorted(RECURSIVE))
def test_an_alias_inside_its_own_anchor_is_refused_at_the_alias(shape):
    old, new, alias = RECURSIVE[shape]
    text = edit(old, new)
    p = only(text)
    assert (p.line, p.col) == at(text, alias) and "cannot contain itself" in p.message, p


def test_the_whole_document_containing_itself_is_refused():
    text = "--- &doc\n" + edit("kind: Blueprint", "kind: Blueprint\nself: *doc")
    p = only(text)
    assert (p.line, p.col) == at(text, "*doc") and "&doc" in p.message


def test_an_alias_of_a_closed_anchor_still_works():
    text = edit("fraud-api: {model: fraud,", "fraud-api: {model: *f,", edit("models: [fraud]", "models: [&f fraud]"))
    assert loads(text, "bp.yaml").base.components.serving.endpoints["fraud-api"].model == "fraud"


# --- keys that are not plain text --------------------------------------------------------------------

COMPLEX_KEYS = {
    "explicit list key": ("models: [fraud]", "models: [fraud]\n    ? [a, b]\n    : 1", "? [a, b]", 2, "a list"),
    "flow list key": ("retention_days: {raw: 365}", "retention_days: {[raw]: 365}", "[raw]", 0, "a list"),
    "flow mapping key": ("retention_days: {raw: 365}", "retention_days: {? {a: 1} : 365}", "? {a: 1}", 2, "a mapping"),
    "block list key": ("models: [fraud]", "models: [fraud]\n    ? - a\n      - b\n    : 1", "? - a", 2, "a list"),
    "top-level mapping key": ("kind: Blueprint", "kind: Blueprint\n? {a: b}\n: c", "? {a: b}", 2, "a mapping"),
}


@pytest.mark.parametrize("shape", sorted(COMPLEX_KEYS))
def test_a_list_or_mapping_as_a_key_is_refused(shape):
    old, new, needle, offset, kind = COMPLEX_KEYS[shape]
    text = edit(old, new)
    p = only(text)
    line, col = at(text, needle)
    assert (p.line, p.col) == (line, col + offset) and f"a key must be plain text, not {kind}" in p.message, p


@pytest.mark.parametrize(
    "key, kind",
    [("1", "a number"), ("1.5", "a number"), ("null", "null"), ("true", "a boolean"), ("2027-01-01", "a date")],
)
def test_a_key_that_is_not_text_is_refused(key, kind):
    text = edit("retention_days: {raw: 365}", f"retention_days: {{{key}: 365}}")
    p = only(text)
    assert (p.line, p.col) == at(text, f"{key}: 365") and f"{key!r} is read as {kind}: quote it" in p.message


# --- dates that do not exist -------------------------------------------------------------------------

WAIVER = (
    "policies:\n  waivers:\n    - check: MLOPS_AWS_007\n      resource: data_lake.raw\n"
    "      reason: replication is handled elsewhere\n      owner: sec@example.com\n      expires: {}\n"
)


@pytest.mark.parametrize(
    "day",
    [
        "2027-02-30",
        "2027-02-29",
        "2027-04-31",
        "2027-13-01",
        "2027-00-10",
        "2027-01-32",
        "2027-02-28 25:00:00",
        "2027-02-28T10:61:00Z",
    ],
)
def test_a_date_that_does_not_exist_is_refused_at_its_line(day):
    text = STARTER + WAIVER.format(day)
    p = only(text)
    assert p.path == "policies.waivers[0].expires" and (p.line, p.col) == at(text, day), p
    assert f"(got {day!r})" in p.message


def test_a_leap_day_that_exists_is_a_date():
    text = STARTER + WAIVER.format("2028-02-29")
    assert str(loads(text, "bp.yaml").base.policies.waivers[0].expires) == "2028-02-29"


# --- YAML 1.1 leftovers: numbers, merge keys ---------------------------------------------------------

YAML11_NUMBERS = [
    ("latency_p99_ms: 250", "latency_p99_ms", "4:10", "250"),
    ("latency_p99_ms: 250", "latency_p99_ms", "1:00:00", "3600"),
    ("latency_p99_ms: 250", "latency_p99_ms", "-1:30", "-90"),
    ("latency_p99_ms: 250", "latency_p99_ms", "0b11111010", "250"),
    ("latency_p99_ms: 250", "latency_p99_ms", "1_000", "1000"),
    ("latency_p99_ms: 250", "latency_p99_ms", "0x_FA", "250"),
    ("max_nodes: 4", "max_nodes", "1:04", "64"),
    ("error_rate: 0.01", "error_rate", "0:0.5", "0.5"),
    ("error_rate: 0.01", "error_rate", "0.000_1", "0.0001"),
]


@pytest.mark.parametrize("old, field, value, yaml11", YAML11_NUMBERS)
def test_a_yaml11_number_is_text_and_a_number_field_refuses_it(old, field, value, yaml11):
    text = edit(old, f"{field}: {value}")
    p = only(text)
    line, col = at(text, f"{field}: {value}")
    assert p.path.endswith(field) and (p.line, p.col) == (line, col + len(field) + 2), p
    assert f"{value!r} is text in YAML 1.2" in p.message and "YAML 1.1 read it as" in p.message
    assert f"write the number plainly, e.g. {yaml11}" in p.message, p.message


@pytest.mark.parametrize("value", ["4:10", "0b101", "1_000"])
def test_a_yaml11_number_in_a_text_field_stays_the_text_written(value):
    text = edit("sales: {zones: [curated]}", f"sales: {{zones: [curated], description: {value}}}")
    assert loads(text, "bp.yaml").base.components.catalog.databases["sales"].description == value


@pytest.mark.parametrize(
    "value, number", [("017", 17), ("0o17", 15), ("0x1F", 31), ("1e3", 1000), ("+250", 250), ("250.0", 250)]
)
def test_yaml12_numbers_read_as_yaml12_does(value, number):
    text = edit("latency_p99_ms: 250", f"latency_p99_ms: {value}")
    assert loads(text, "bp.yaml").base.components.monitoring.alerts.latency_p99_ms == number


MERGES = {
    "top level": ("kind: Blueprint", "kind: Blueprint\n<<: {state: {backend: s3}}"),
    "in metadata": ("  cost_center: cc-1234", "  cost_center: cc-1234\n  <<: {tier: strategic}"),
    "in a flow mapping": ("fraud-api: {model: fraud,", "fraud-api: {<<: {model: fraud},"),
    "from an alias": (
        "      fraud-api: {model: fraud, size: cpu-medium, min_replicas: 1, max_replicas: 4}",
        "      base: &ep {model: fraud, size: cpu-medium, min_replicas: 1, max_replicas: 4}\n"
        "      fraud-api:\n        <<: *ep\n        min_replicas: 2",
    ),
    "a list of aliases": (
        "  dev:\n    protect_stateful: false",
        "  dev:\n    <<: [*a, *b]\n    protect_stateful: false",
    ),
    "in an environment": ("  prod:\n    overrides:", "  prod:\n    <<: {protect_stateful: true}\n    overrides:"),
}


@pytest.mark.parametrize("where", sorted(MERGES))
def test_a_merge_key_is_refused_with_what_to_write_instead(where):
    old, new = MERGES[where]
    text = edit(old, new)
    if "*a" in new:
        text = edit("kind: Blueprint", "kind: Blueprint\nx-a: &a {protect_stateful: false}\nx-b: &b {}", text)
    p = only(text)
    assert (p.line, p.col) == at(text, "<<")
    assert "YAML 1.1 only" in p.message and "Repeat the fields here" in p.message and "anchor" in p.message


def test_a_quoted_merge_key_is_a_plain_unknown_field():
    text = edit("fraud-api: {model: fraud,", "fraud-api: {'<<': 1, model: fraud,")
    p = only(text)
    assert p.path == "components.serving.endpoints.fraud-api.<<" and "unknown field '<<'" in p.message


# --- tabs --------------------------------------------------------------------------------------------

TABS = {
    "top-level key": ("\nkind: Blueprint", "\n\tkind: Blueprint", "\tkind"),
    "nested key": ("    models: [fraud]", "  \tmodels: [fraud]", "\tmodels"),
    "two levels": ("      gpu-a:", "\t\tgpu-a:", "\t\tgpu-a"),
    "between spaces": ("    models: [fraud]", "  \t  models: [fraud]", "\t  models"),
    "list item": ("zones: [raw, curated, features]", "zones:\n\t- raw\n      - curated", "\t- raw"),
    "after a dash": ("zones: [raw, curated, features]", "zones:\n      -\traw\n      - curated", "\traw"),
    "in an environment": ("    protect_stateful: false", "\tprotect_stateful: false", "\tprotect"),
    "last line": (
        "      baseline.budget.monthly_limit_usd: 5000\n",
        "      baseline.budget.monthly_limit_usd: 5000\n\tx: 1\n",
        "\tx",
    ),
}


@pytest.mark.parametrize("where", sorted(TABS))
def test_a_tab_in_the_indentation_is_called_a_tab_at_its_column(where):
    old, new, needle = TABS[where]
    text = edit(old, new)
    p = only(text)
    assert (p.line, p.col) == at(text, needle) and "a tab character" in p.message and "spaces" in p.message, p


def test_a_tab_after_a_key_is_allowed():
    text = edit("cost_center: cc-1234", "cost_center:\tcc-1234")
    assert loads(text, "bp.yaml").base.metadata.cost_center == "cc-1234"


# --- explicit tags, numbers too long, anchors defined twice ------------------------------------------

TAGGED = [
    ("latency_p99_ms: 250", "latency_p99_ms: !!int x", "!!int", "'x' cannot be read as int"),
    ("latency_p99_ms: 250", "latency_p99_ms: !!int 4:10", "!!int", "'4:10' cannot be read as int"),
    ("error_rate: 0.01", "error_rate: !!float 0:30", "!!float", "'0:30' cannot be read as float"),
    ("spot: true", "spot: !!bool maybe", "!!bool", "'maybe' cannot be read as bool"),
    ("latency_p99_ms: 250", "latency_p99_ms: !!timestamp x", "!!timestamp", "'x' cannot be read as timestamp"),
    ("latency_p99_ms: 250", "latency_p99_ms: " + "9" * 5000, "9999", "a number of 5000 digits is too long"),
]


@pytest.mark.parametrize("old, new, needle, words", TAGGED)
def test_a_value_its_type_cannot_read_is_refused_at_its_line(old, new, needle, words):
    text = edit(old, new)
    p = only(text)
    assert (p.line, p.col) == at(text, needle) and words in p.message and len(p.message) < 400, p


@pytest.mark.parametrize("second", ["[x, &m y]", "&m {a: 1}", "&m [z]"])
def test_an_anchor_defined_twice_says_so(second):
    text = edit("models: [fraud]", f"models: &m [fraud]\n  x-more: {second}")
    p = only(text)
    assert "duplicate anchor" in p.message and "first defined on line" in p.message and "own name" in p.message


# --- the CLI: one case per family --------------------------------------------------------------------

CLI_CASES = {
    "recursive alias": (edit("models: [fraud]", "models: &m [fraud, *m]"), "*m", "cannot contain itself"),
    "complex key": (edit("models: [fraud]", "models: [fraud]\n    ? [a, b]\n    : 1"), "[a, b]", "plain text"),
    "date": (STARTER + WAIVER.format("2027-02-30"), "2027-02-30", "policies.waivers[0].expires"),
    "yaml 1.1 number": (edit("latency_p99_ms: 250", "latency_p99_ms: 4:10"), "4:10", "YAML 1.1 read it as"),
    "merge key": (edit("fraud-api: {model: fraud,", "fraud-api: {<<: {model: fraud},"), "<<", "YAML 1.1 only"),
    "tab": (edit("  models: [fraud]", "\tmodels: [fraud]"), "\tmodels", "a tab character"),
    "tag": (edit("latency_p99_ms: 250", "latency_p99_ms: !!int x"), "!!int", "cannot be read as int"),
}


@pytest.mark.parametrize("family", sorted(CLI_CASES))
def test_cli_exits_2_with_the_location_and_no_traceback(tmp_path, family):
    text, needle, words = CLI_CASES[family]
    assert_cli_refuses(tmp_path, text, *at(text, needle), words)
