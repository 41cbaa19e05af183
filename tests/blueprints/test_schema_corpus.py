"""The blueprint JSON Schema and `validate` agree, checked by check-jsonschema on a corpus.

`tests/blueprints/corpus/good/*.yaml` and the reference blueprints must pass both; every
`tests/blueprints/corpus/bad/*.yaml` must fail both, at the field its `# expect:` line names, except the
files in ONLY_VALIDATE: rules that need more than one field, or a cloud's catalog, which a JSON Schema
cannot express (each listed with the reason). check-jsonschema runs as its CLI does in CI and editors'
pipelines: it reads YAML as YAML 1.2 (ruamel), so `yes` is text and a date is a date.

To add a case: write a file under good/ or bad/ (a comment on what it shows, and for bad/ a line
`# expect: <dotted field path>`), then run this file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_blueprint.blueprints.loader import BlueprintError
from mlops_blueprint.scripts import pipeline

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"
SCHEMA = ROOT / "blueprints" / "blueprint.schema.json"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"

GOOD = sorted((CORPUS / "good").glob("*.yaml")) + sorted((ROOT / "blueprints" / "reference").glob("*.yaml"))
BAD = sorted((CORPUS / "bad").glob("*.yaml"))

# file -> (the rule only `validate` checks, why the schema cannot)
ONLY_VALIDATE = {
    "pool-min-above-max.yaml": (
        "min_nodes <= max_nodes",
        "compares two fields; JSON Schema has no keyword that relates one value to another",
    ),
    "endpoint-unknown-model.yaml": (
        "an endpoint's model is declared in components.registry.models",
        "a reference across components (JSON Schema has no $data references)",
    ),
    "database-unknown-zone.yaml": (
        "a catalog database crawls zones of the lake",
        "a reference across components",
    ),
    "accelerator-not-on-cloud.yaml": (
        "the accelerator is offered by the target cloud",
        "depends on target.cloud and the cloud's catalog (blueprints/registry.py), not on the field alone",
    ),
    "override-unknown-field.yaml": (
        "an override's dotted path names a field of the document",
        "override keys are paths into the rest of the document, resolved per environment",
    ),
    "override-spot-yes.yaml": (
        "an override's value fits the field it replaces",
        "override values are typed by the path in their key; the schema sees a map of dotted paths to any value",
    ),
    "cron-range-backwards.yaml": (
        "a cron range's start is not after its end",
        "compares two numbers inside one string; the pattern bounds each value but cannot order them",
    ),
}


def _expect(path: Path) -> str:
    m = re.search(r"^# expect: ?(.*)$", path.read_text(), re.M)
    assert m, f"{path.name}: a bad case needs a '# expect: <dotted field path>' line"
    return m[1].strip()


def _dotted(json_path: str) -> str:
    """check-jsonschema's `$.a.b['gpu-a'][0]` -> `a.b.gpu-a[0]` (validate's spelling)."""
    out = re.sub(r"\['([^']*)'\]", r".\1", json_path.removeprefix("$").lstrip("."))
    return out


@pytest.fixture(scope="module")
def schema_verdicts() -> dict[str, list[str] | None]:
    """file name -> None when check-jsonschema accepts it, else the deepest error paths it reports."""
    files = [str(p) for p in GOOD + BAD]
    proc = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--schemafile", str(SCHEMA), "-o", "json", "-v", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    verdicts: dict[str, list[str] | None] = {Path(f).name: None for f in files}
    for err in report["errors"]:
        deep = err.get("best_deep_match") or err
        verdicts[Path(err["filename"]).name] = (verdicts[Path(err["filename"]).name] or []) + [_dotted(deep["path"])]
    for err in report["parse_errors"]:
        verdicts[Path(err["filename"]).name] = ["<parse error>"]
    return verdicts


def _validate(path: Path) -> list:
    try:
        pipeline.validate(path)
    except BlueprintError as exc:
        return exc.problems
    return []


def test_the_corpus_is_what_the_test_says():
    names = {p.name for p in GOOD} | {p.name for p in BAD}
    assert len(names) == len(GOOD) + len(BAD), "file names must be unique across good/, bad/ and reference/"
    assert set(ONLY_VALIDATE) <= {p.name for p in BAD}, "ONLY_VALIDATE lists a file that is not in corpus/bad"
    assert len(GOOD) >= 14 and len(BAD) >= 25


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_blueprints_pass_both(path, schema_verdicts):
    assert schema_verdicts[path.name] is None, f"check-jsonschema refuses {path.name}: {schema_verdicts[path.name]}"
    assert _validate(path) == []


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_blueprints_fail_both_at_the_same_field(path, schema_verdicts):
    expect = _expect(path)
    problems = _validate(path)
    assert problems, f"validate accepts {path.name}"
    if expect:
        assert any(p.path.startswith(expect) for p in problems), [str(p) for p in problems]
    assert all(p.line >= 1 for p in problems), "every problem names its line"
    if path.name in ONLY_VALIDATE:
        assert schema_verdicts[path.name] is None, (
            f"{path.name} is listed as a rule only validate checks, but the schema refuses it too: "
            "take it off ONLY_VALIDATE"
        )
        return
    paths = schema_verdicts[path.name]
    assert paths is not None, f"check-jsonschema accepts {path.name}, which validate refuses: {problems[0]}"
    if expect:
        assert expect in paths, f"check-jsonschema refuses {path.name} elsewhere: {paths}"
    else:
        assert paths == ["<parse error>"]


def test_a_yaml_date_passes_a_validator_that_loads_yaml_natively():
    """PyYAML reads `expires: 2027-03-31` as a datetime.date, which is no JSON type: the schema takes it
    (a validator fed PyYAML's data is what editors' Python plugins and pre-commit hooks often are)."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    data = yaml.safe_load((CORPUS / "good" / "waiver-yaml-date.yaml").read_text())
    assert type(data["policies"]["waivers"][0]["expires"]).__name__ == "date"
    assert list(validator.iter_errors(data)) == []
    data["policies"]["waivers"][0]["expires"] = 20270331
    assert [e.validator for e in validator.iter_errors(data)] == ["not"]


def test_spot_yes_is_refused_at_its_line_by_the_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_blueprint.scripts.cli", "validate", str(CORPUS / "bad" / "spot-yes.yaml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = (CORPUS / "bad" / "spot-yes.yaml").read_text().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if "spot: yes}" in t)
    col = lines[line - 1].index("yes") + 1
    text = " ".join((proc.stdout + proc.stderr).split())
    assert f"spot-yes.yaml:{line}:{col}: components.training.pools.gpu-a.spot" in text
    assert "write true or false" in text and "Traceback" not in text
