"""The glue's contract (scripts/glue/__init__.py `Glue`): every registered cloud's glue is a `Glue`, has every
required part, overrides exactly the optional methods its `capabilities` declare, and delegates to its module's
functions (which tests patch); the pipeline asks `capabilities`, never `getattr`."""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import sys
from types import SimpleNamespace

import pytest

from mlops_blueprint.blueprints import registry
from mlops_blueprint.scripts import pipeline
from mlops_blueprint.scripts.glue import Capability, Glue, Target
from mlops_blueprint.scripts.terraform import TerraformFailed
from tests.conftest import ROOT

# Written out here, not read from `Glue`: dropping one from the base class must fail a test.
REQUIRED = (
    "credential_errors",
    "credentials_problem",
    "bootstrap_state",
    "delete_state",
    "verify",
    "rollout",
)
OPTIONAL = {Capability.SWEEP_UNTRACKED: "sweep_untracked", Capability.IMPORT_IDS: "import_ids"}


def glue_of(name: str) -> Glue:
    return registry.get(name).load("glue")


def own(cls: type, method: str) -> bool:
    """Whether `cls` (or a class between it and Glue) defines `method`, rather than inheriting Glue's."""
    return getattr(cls, method) is not getattr(Glue, method)


def test_the_contract_names_every_part():
    assert {c.value for c in Capability} == set(OPTIONAL.values()) and set(Capability) == set(OPTIONAL)
    assert Glue.__abstractmethods__ == {*REQUIRED, "CREDENTIALS_HINT"}
    assert Glue.capabilities == frozenset()


@pytest.mark.parametrize("name", registry.NAMES)
def test_every_cloud_registers_a_glue_object(name):
    cloud = registry.get(name)
    module, _, attr = cloud.glue.partition(":")
    assert attr == "GLUE", cloud.glue
    glue = glue_of(name)
    assert isinstance(glue, Glue) and type(glue) is not Glue
    assert glue is sys.modules[module].GLUE and type(glue).__module__ == module


@pytest.mark.parametrize("name", registry.NAMES)
def test_every_cloud_has_every_required_part(name):
    cls = type(glue_of(name))
    assert not inspect.isabstract(cls)
    for method in REQUIRED:
        assert own(cls, method) and callable(getattr(cls, method)), f"{cls.__name__}.{method}"
    hint = cls.CREDENTIALS_HINT
    assert isinstance(hint, str) and hint.strip(), f"{cls.__name__}.CREDENTIALS_HINT"


@pytest.mark.parametrize("name", registry.NAMES)
def test_every_cloud_overrides_exactly_the_optional_methods_it_declares(name):
    glue = glue_of(name)
    assert isinstance(glue.capabilities, frozenset) and glue.capabilities <= set(Capability)
    overridden = {cap for cap, method in OPTIONAL.items() if own(type(glue), method)}
    assert overridden == glue.capabilities


def _subclass(declared: frozenset[Capability], defined: set[Capability], required=REQUIRED, hint=True) -> type:
    body: dict = {"capabilities": declared, **({"CREDENTIALS_HINT": "give it credentials"} if hint else {})}
    body.update({m: lambda self, *a, **k: None for m in required})
    body.update({OPTIONAL[c]: lambda self, *a, **k: [] for c in defined})
    return type("Probe", (Glue,), body)


SUBSETS = [frozenset(s) for n in range(len(OPTIONAL) + 1) for s in itertools.combinations(OPTIONAL, n)]


@pytest.mark.parametrize("declared, defined", list(itertools.product(SUBSETS, SUBSETS)))
def test_a_glue_is_refused_when_its_capabilities_and_methods_differ(declared, defined):
    """Every combination: a capability declared without its method, or a method without its capability,
    is a TypeError when the class is defined; a matching one is a working glue."""
    if declared == defined:
        glue = _subclass(declared, set(defined))()
        assert glue.capabilities == declared
        for cap in set(Capability) - declared:  # the base's stand-in, never reached through the pipeline
            with pytest.raises(NotImplementedError, match=cap.name):
                getattr(glue, OPTIONAL[cap])(*[None] * 4)
        return
    with pytest.raises(TypeError) as raised:
        _subclass(declared, set(defined))
    for cap in declared ^ defined:
        assert cap.name in str(raised.value) and OPTIONAL[cap] in str(raised.value)


@pytest.mark.parametrize("missing", [*REQUIRED, "CREDENTIALS_HINT"])
def test_a_glue_without_a_required_part_cannot_be_made(missing):
    cls = _subclass(frozenset(), set(), [m for m in REQUIRED if m != missing], hint=missing != "CREDENTIALS_HINT")
    with pytest.raises(TypeError, match=missing):
        cls()


# --- delegation: each method calls its module's function of the same name, looked up at call time ---------

CALLS = {
    "credential_errors": (),
    "credentials_problem": (),
    "bootstrap_state": ("env", "target", "report"),
    "delete_state": ("env", "target", "report"),
    "verify": ("env", "target"),
    "rollout": ("env", "endpoint", "tag", 25, "target", "artifact"),
    "cleanup_rollouts": ("env", "target", "report"),
    "sweep_untracked": ("env", "target", "state", "report", "backend"),
    "import_ids": ("doc", "addresses", "env", "target"),
}


@pytest.mark.parametrize(
    "name, method",
    [(n, m) for n in registry.NAMES for m in CALLS if own(type(glue_of(n)), m)],
)
def test_a_patched_module_function_is_what_the_glue_calls(name, method, monkeypatch):
    glue = glue_of(name)
    module = sys.modules[type(glue).__module__]
    calls: list = []
    result = object()
    monkeypatch.setattr(module, method, lambda *a, **k: calls.append([*a, *k.values()]) or result)
    args = CALLS[method]
    returned = getattr(glue, method)(*args)
    assert calls == [list(args)]
    if method not in ("bootstrap_state", "delete_state", "cleanup_rollouts"):
        assert returned is result


@pytest.mark.parametrize("name", [n for n in registry.NAMES if not own(type(glue_of(n)), "cleanup_rollouts")])
def test_a_glue_without_its_own_cleanup_cleans_nothing(name):
    """The base's default (a cloud with its own clean-up is in the delegation test)."""
    glue = glue_of(name)
    said: list = []
    assert glue.cleanup_rollouts(None, Target(local=True, mirror=None), said.append) is None  # type: ignore[arg-type]
    assert said == []


# --- the pipeline asks `capabilities` ------------------------------------------------------------------------


def _calls_probing(path, root=ROOT) -> list[str]:
    """getattr/hasattr calls on something named glue, or naming a glue method as a string."""
    names = {*REQUIRED, *OPTIONAL.values(), "cleanup_rollouts", "CREDENTIALS_HINT"}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id not in ("getattr", "hasattr") or len(node.args) < 2:
            continue
        subject, attr = node.args[0], node.args[1]
        on_glue = isinstance(subject, ast.Name) and "glue" in subject.id.lower()
        named = isinstance(attr, ast.Constant) and attr.value in names
        if on_glue or named:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_nothing_probes_the_glue_with_getattr():
    """scripts/ and stacks/ (the glue package itself aside: its base class checks its subclasses)."""
    paths = [p for room in ("scripts", "stacks") for p in sorted((ROOT / room).rglob("*.py"))]
    assert ROOT / "scripts/pipeline.py" in paths and ROOT / "stacks/main.py" in paths
    assert [hit for p in paths if p.parent != ROOT / "scripts/glue" for hit in _calls_probing(p)] == []


def test_the_probe_finder_finds_probes(tmp_path):
    """The check above can fail: the old pipeline's two probes, and others like them, are found."""
    probe = tmp_path / "old.py"
    lines = [
        'sweep = getattr(glue, "sweep_untracked", None)',
        'ids_of = getattr(glue, "import_ids", None)',
        'hasattr(cloud_glue, "anything")',
        'getattr(module, "verify")',
        'getattr(module, "other", None)',
    ]
    probe.write_text("\n".join(lines) + "\n")
    found = _calls_probing(probe, tmp_path)
    assert [int(hit.split(":")[1]) for hit in found] == [1, 2, 3, 4]


class FakeTerraform:
    def __init__(self, folder):
        self.dir, self.imported, self.pulled = folder, [], 0

    def state_pull(self):
        self.pulled += 1
        return {"resources": []}

    def import_(self, address, id):
        self.imported.append((address, id))


def _recording_glue(declared: frozenset[Capability], calls: list) -> Glue:
    body: dict = {"capabilities": declared, "CREDENTIALS_HINT": "give it credentials"}
    body.update({m: lambda self, *a, **k: None for m in REQUIRED})
    body["credential_errors"] = lambda self: ()
    if Capability.SWEEP_UNTRACKED in declared:
        body["sweep_untracked"] = lambda self, *a, **k: calls.append("sweep_untracked") or []
    if Capability.IMPORT_IDS in declared:
        body["import_ids"] = lambda self, doc, addresses, *a: calls.append("import_ids") or {a: "id" for a in addresses}
    return type("Recording", (Glue,), body)()


@pytest.mark.parametrize("declared", SUBSETS)
def test_the_pipeline_calls_an_optional_method_exactly_when_it_is_declared(declared, tmp_path):
    calls: list = []
    cloud = SimpleNamespace(load=lambda part: _recording_glue(declared, calls))
    doc = tmp_path / "cdk.tf.json"
    doc.write_text(json.dumps({"terraform": {"backend": {"local": {}}}}))
    r = SimpleNamespace(stack="probe-dev", json_path=doc)
    target, events = Target(local=True, mirror=None), []
    tf = FakeTerraform(tmp_path)

    pipeline._untracked(cloud, None, r, tf, target, events.append)  # type: ignore[arg-type]
    assert ("sweep_untracked" in calls) == (Capability.SWEEP_UNTRACKED in declared)
    assert tf.pulled == (1 if Capability.SWEEP_UNTRACKED in declared else 0)

    failure = TerraformFailed("probe-dev", "apply", "Error: ... already exists", orphans=["x_bucket.a"])
    if Capability.IMPORT_IDS in declared:
        pipeline._adopt(cloud, None, r, tf, failure, target, events.append)  # type: ignore[arg-type]
        assert tf.imported == [("x_bucket.a", "id")]
    else:
        with pytest.raises(pipeline.Orphaned, match="no import id known for x_bucket.a"):
            pipeline._adopt(cloud, None, r, tf, failure, target, events.append)  # type: ignore[arg-type]
        assert tf.imported == []
    assert ("import_ids" in calls) == (Capability.IMPORT_IDS in declared)
