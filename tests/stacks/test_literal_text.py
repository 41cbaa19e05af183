"""Blueprint text is data: no string from a blueprint reaches a synthesized stack as a template.

Three layers:
- the scanner (`hcl_template.scan`) is held to the real `terraform` binary's reading of the same strings;
- the escape (`stacks/literal.py`) is a property: any text, alone or beside the stack's own references,
  reads back literally and adds no sequence of its own;
- every reference blueprint of every cloud, with template sequences put into every string field that
  validation lets hold them (owner, cost center, descriptions, notify, waiver reasons, override values,
  label keys, ...), synthesizes both its stacks with exactly the sequences its unmutated twin has, and
  its text arrives literally.
The emulator half (terraform validate and plan show the literal text) is in
tests/integration/test_review_on_emulator.py.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_blueprint.blueprints.loader import BlueprintError, from_dict, load
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.literal import LiteralText
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT
from tests.stacks.hcl_template import scan, strings

# Template sequences a hostile pull request would write, each one that Terraform (or CDK Terrain) would
# evaluate if written as is, each with a marker no stack has of its own. (Escapes that are already
# literal, `$${x}` and a `$` at the end of a text, are in the property tests' alphabet below.)
PAYLOADS = (
    '${file("/etc/hostname")}',
    '%{ for x in ["hm"] }${x}%{ endfor }',
    "${path.cwd}",
    "${TfToken[TOKEN.1]}",
    "#{TfToken[TOKEN.2]}",
    "&{TfToken[TOKEN.3]}",
    '${~ upper("tilde") ~}',
    "%{if true}cond%{endif}",
)
MARKERS = ("/etc/hostname", "hm", "path.cwd", "TfToken", "tilde", "cond")
REFERENCES = {
    "aws": "starter.yaml",
    "gcp": "gcp-vision.yaml",
    "azure": "azure-claims.yaml",
    "onprem": "onprem-research.yaml",
}
TEXT = st.text(alphabet=st.sampled_from(list('$%#&{}~"\\ax\n')), max_size=24)


# --- the scanner is Terraform's reading ----------------------------------------------------------------

SAMPLES = ("a$${b}", "$$${c}", "%%{d}", "%%%{e}", "$x{f", "$", "%", "$$", "{g}", "h$$", "$${i}%%{j}", "#{k}&{l}")


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
def test_the_scanner_reads_strings_as_terraform_does(tmp_path):
    """Each sample (no sequence, by the scanner) is output by terraform itself: the literal texts agree."""
    doc = {
        "locals": {"s": {str(i): s for i, s in enumerate(SAMPLES)}},
        "output": {"s": {"value": "${local.s}"}},
    }
    (tmp_path / "main.tf.json").write_text(json.dumps(doc))
    env = {"TF_IN_AUTOMATION": "1", "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path)}
    run = dict(cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    subprocess.run(["terraform", "init", "-no-color"], check=True, **run)
    subprocess.run(["terraform", "apply", "-auto-approve", "-no-color"], check=True, **run)
    out = subprocess.run(["terraform", "output", "-json", "s"], check=True, **run).stdout
    got = json.loads(out)
    assert [got[str(i)] for i in range(len(SAMPLES))] == [scan(s).literal for s in SAMPLES]
    assert all(scan(s).sequences == [] for s in SAMPLES)


# --- the escape, as a property --------------------------------------------------------------------------

NONCE = LiteralText.of([])


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_any_text_reads_back_literally_and_adds_no_sequence(text):
    written = NONCE.restore(NONCE.escape(text))
    got = scan(written)
    assert got.sequences == []
    assert got.literal == text


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_text_beside_the_stacks_own_references_keeps_them(before, after):
    """A construct may write `<text>${ref}<text>`: the reference stays one, and only it."""
    ref = "${aws_s3_bucket.raw.arn}"
    written = NONCE.restore(NONCE.escape(before) + ref + NONCE.escape(after))
    got = scan(written)
    # the `$`s right before the reference are written `${"$$"}` (Terraform has no escape for a `$` before
    # `${`): the only sequence besides the reference, and it evaluates to them
    last = before[len(before.rstrip("$")) :]
    assert got.sequences == ([f'${{"{last}"}}'] if last else []) + [ref]
    assert got.literal == before[: len(before) - len(last)] + after


def test_the_sentinel_cannot_be_in_the_text_it_escapes():
    lb = load(ROOT / "blueprints/reference/starter.yaml")
    envs = lb.select(None)
    text = LiteralText.of(envs)
    assert text.nonce.isalpha() and text.nonce.islower()
    assert all(text.nonce not in s for e in envs for s in (json.dumps(e.blueprint.model_dump(mode="json")),))
    assert text != LiteralText.of(envs[:1])  # the sentinel follows the text


# --- every reference blueprint of every cloud ----------------------------------------------------------


def _leaves(node, path=()):
    """Every string value and every mapping key of a YAML document, as (path, is_key)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str):
                yield path + (k,), True
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))
    elif isinstance(node, str):
        yield path, False


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def _set(doc, path, is_key, new):
    parent = _get(doc, path[:-1])
    if is_key:
        parent[new] = parent.pop(path[-1])
    else:
        parent[path[-1]] = new


def _valid(doc) -> bool:
    try:
        from_dict(doc)
    except BlueprintError:
        return False
    return True


def hostile(data: dict) -> tuple[dict, dict[tuple, str]]:
    """`data` with a payload in every string field that validation lets hold one: each field on its own
    first (payload before, after or instead of the value), then all together. Returns the document and
    what went where."""
    accepted: dict[tuple, tuple[bool, str]] = {}
    leaves = list(_leaves(data))
    for n, (path, is_key) in enumerate(leaves):
        if path[:1] in (("apiVersion",), ("kind",)):
            continue
        old = path[-1] if is_key else _get(data, path)
        rotation = PAYLOADS[n % len(PAYLOADS) :] + PAYLOADS[: n % len(PAYLOADS)]
        for payload in rotation:
            for new in (f"{payload}{old}", f"{old}{payload}", payload):
                doc = copy.deepcopy(data)
                _set(doc, path, is_key, new)
                if _valid(doc):
                    accepted[path] = (is_key, new)
                    break
            if path in accepted:
                break
    doc = copy.deepcopy(data)
    # keys last and deepest first, so that the paths of the values still lead to them
    for path, (is_key, new) in sorted(accepted.items(), key=lambda kv: (kv[1][0], -len(kv[0]))):
        _set(doc, path, is_key, new)
    assert _valid(doc), "the accepted mutations must hold together"
    return doc, {p: v for p, (_, v) in accepted.items()}


def reference(cloud: str) -> dict:
    """The cloud's reference blueprint, with a text override in its first environment (the references
    override numbers only), so that override values are among the fields that take a payload."""
    data = yaml.safe_load((ROOT / "blueprints/reference" / REFERENCES[cloud]).read_text())
    first = next(iter(data["environments"].values()))
    first.setdefault("overrides", {})["metadata.cost_center"] = "cc-override"
    return data


@pytest.fixture(scope="module", params=sorted(REFERENCES))
def pair(request, tmp_path_factory):
    """(cloud, the mutations, {stack: JSON} of the hostile blueprint, {stack: JSON} of its unmutated twin)."""
    cloud = request.param
    data = reference(cloud)
    doc, mutations = hostile(data)
    out = tmp_path_factory.mktemp(f"literal-{cloud}")
    stacks = {}
    nonce = LiteralText.of(from_dict(doc).select(None)).nonce
    # the twin is the reference file itself (its synth is likely cached by the golden tests already)
    twin = load(ROOT / "blueprints/reference" / REFERENCES[cloud])
    for name, lb in (("hostile", from_dict(doc, name="hostile.yaml")), ("twin", twin)):
        results = synth(lb, lb.select(None), out / name, DeploySettings())
        docs = {}
        for r in results:
            docs[r.stack] = json.loads(r.json_path.read_text())
            if r.cluster is not None:
                docs[r.cluster.stack] = json.loads(r.cluster.json_path.read_text())
        stacks[name] = docs
    return cloud, mutations, stacks["hostile"], stacks["twin"], nonce


def test_every_kind_of_free_text_field_takes_a_payload(pair):
    """The property is only as good as its reach: the cost center, the descriptions or purpose, waiver
    reasons and override values hold one wherever the blueprint has them. (Addresses, such as the owner
    and notify, refuse `$` and `{` at validate: they are e-mail addresses.)"""
    cloud, mutations, *_ = pair
    dotted = {".".join(map(str, p)) for p in mutations}
    assert "metadata.cost_center" in dotted
    expected = {"description", "purpose", "reason", "overrides"}
    leaves = [".".join(map(str, p)) for p, is_key in _leaves(reference(cloud)) if not is_key]
    present = {word for word in expected if any(word in leaf for leaf in leaves)}
    reached = {word for word in expected if any(word in d for d in dotted)}
    assert present - reached == set()
    assert len(mutations) >= 3


def test_no_payload_becomes_a_sequence_in_either_stack(pair):
    """Both stacks of every environment: the sequences Terraform would evaluate are exactly the twin's
    (plus the one that keeps a `$` before a reference), and none carries a payload's marker."""
    cloud, _, hostile_docs, twin_docs, nonce = pair
    assert sorted(hostile_docs) == sorted(twin_docs)
    assert any(name.endswith("-cluster") for name in hostile_docs) or cloud == "onprem"
    for name, doc in hostile_docs.items():
        seqs = [q for s in strings(doc) for q in scan(s).sequences]
        twin = {q for s in strings(twin_docs[name]) for q in scan(s).sequences}
        leaked = sorted({q for q in seqs if q not in twin and not re.fullmatch(r'\$\{"\$+"\}', q)})
        assert leaked == [], f"{cloud} {name}"
        assert not [q for q in seqs if any(m in q for m in MARKERS)], f"{cloud} {name}"
        assert nonce not in json.dumps(doc), f"{cloud} {name}: a sentinel was left in the stack"


def test_the_text_arrives_literally(pair):
    """The owner (a tag or label everywhere it can be one) and at least one payload read back verbatim."""
    cloud, mutations, hostile_docs, _, _ = pair
    literal = {scan(s).literal for doc in hostile_docs.values() for s in strings(doc)}
    arrived = {v for v in mutations.values() if any(v in text for text in literal)}
    assert arrived, f"{cloud}: no payload reached the stacks literally"
    assert all(any(m in v for m in MARKERS) for v in arrived)
    if cloud == "aws":  # a tag value: the provider's default tags carry it verbatim
        cost_center = mutations[("metadata", "cost_center")]
        assert any(cost_center == text for text in literal)
