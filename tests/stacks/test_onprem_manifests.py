"""Offline proof for the on-prem target: every object the stacks create is one the cluster would accept.

- `kubernetes_manifest` objects: built-in kinds against the Kubernetes OpenAPI schema of the target's
  version (kubernetes-validate, strict: unknown fields fail); custom resources against the CRD schema
  vendored in `tests/schemas/crds/` (`<group>_<kind>_<version>.json`, sources in tests/schemas/README.md).
  A kind with neither is a failure naming it.
- typed `kubernetes_*` resources: what the rules read is there (PSA labels, default-deny, quota, limits,
  no wildcard roles).
- `helm_release` values: against the chart's vendored values.schema.json when `CHARTS` names one.

The on-prem reference runs as is; every other reference runs retargeted to on-prem (the reference's
target replaced with the on-prem one, other clouds' target overrides dropped, TPUs as A100s, a node
label for every accelerator used).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from mlops_blueprint.blueprints import load
from mlops_blueprint.modules.cluster import validate
from mlops_blueprint.policies.engine import all_rules, run_rule
from mlops_blueprint.policies.tfjson import Doc
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT

REFERENCES = ROOT / "blueprints" / "reference"
CRDS = ROOT / "tests" / "schemas" / "crds"
ONPREM = REFERENCES / "onprem-research.yaml"
OTHERS = sorted(p for p in REFERENCES.glob("*.yaml") if p != ONPREM)
# Accelerators the on-prem catalog does not have, and what a retargeted blueprint asks for instead.
NEAREST = {"google-tpu-v5e": "nvidia-a100"}
# Rules the typed resources must pass: default-deny, quota, limit range, PSA, no wildcard roles.
TYPED_RULES = ("MLOPS_K8S_002", "MLOPS_K8S_003", "MLOPS_K8S_005", "MLOPS_K8S_006", "MLOPS_K8S_009")


def retarget(src: Path, dst: Path) -> Path:
    """The reference `src` as an on-prem blueprint, written to `dst`."""
    onprem = yaml.safe_load(ONPREM.read_text())["target"]
    doc = yaml.safe_load(src.read_text())
    pools = ((doc.get("components") or {}).get("training") or {}).get("pools") or {}
    labels = dict(onprem["gpu_node_labels"])
    for pool in pools.values():
        pool["accelerator"] = NEAREST.get(pool["accelerator"], pool["accelerator"])
        labels.setdefault(pool["accelerator"], {"nvidia.com/gpu.product": pool["accelerator"].upper()})
    doc["target"] = {**onprem, "gpu_node_labels": labels}
    for env in (doc.get("environments") or {}).values():
        if env and env.get("overrides"):
            env["overrides"] = {
                k: v for k, v in env["overrides"].items() if not k.startswith("target.") or k == "target.kube_context"
            }
    dst.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dst


@cache
def _synth(path: str) -> tuple[tuple[str, str, dict], ...]:
    """(stack, kubernetes version, document) of every environment of the blueprint at `path`."""
    import tempfile

    lb = load(Path(path))
    out = Path(tempfile.mkdtemp(prefix="onprem-synth-"))
    results = synth(lb, lb.select(None), out, DeploySettings())
    versions = {name: env.blueprint.target.kubernetes_version for name, env in lb.envs.items()}
    docs = []
    for r in results:
        doc = json.loads(Path(r.json_path).read_text())
        env = Doc(doc).environment()
        docs.append((r.stack, versions.get(env) or "1.35", doc))
    return tuple(docs)


@pytest.fixture(scope="module", params=[ONPREM, *OTHERS], ids=lambda p: p.stem)
def stacks(request, tmp_path_factory):
    path = (
        request.param
        if request.param == ONPREM
        else retarget(request.param, tmp_path_factory.mktemp("retarget") / request.param.name)
    )
    return _synth(str(path))


# One validator for the cluster stacks and this test: modules/cluster/validate.py (the same code `up --local` runs).
manifest_errors = validate.object_errors


def test_every_manifest_is_valid_for_the_cluster(stacks):
    problems = []
    for stack, version, doc in stacks:
        for name, body in doc["resource"].get("kubernetes_manifest", {}).items():
            problems += [f"{stack} {name}: {p}" for p in manifest_errors(body["manifest"], version)]
    assert not problems, "\n".join(problems)


def test_helm_values_match_the_charts_schemas(stacks):
    from mlops_blueprint.modules.onprem_common import CHARTS

    by_chart = {(c.chart, c.version): c for c in CHARTS.values()}
    problems = []
    for stack, _, doc in stacks:
        for name, body in doc["resource"].get("helm_release", {}).items():
            chart = by_chart.get((body["chart"], body["version"]))
            assert chart is not None, f"{stack} {name}: chart {body['chart']} {body['version']} is not in CHARTS"
            if not chart.values_schema:
                continue
            schema_file = ROOT / chart.values_schema
            assert schema_file.exists(), f"{chart.chart}: values schema {chart.values_schema} is not vendored"
            schema = json.loads(schema_file.read_text())
            for text in body.get("values", []):
                values = yaml.safe_load(text) or {}
                # Helm validates the chart's defaults merged with these values: a property the chart's
                # values.yaml supplies is not missing here, so `required` is left to that merge.
                problems += [
                    f"{stack} {name}: {'.'.join(str(p) for p in e.path)}: {e.message}"
                    for e in jsonschema.Draft7Validator(schema).iter_errors(values)
                    if e.validator != "required"
                ]
    assert not problems, "\n".join(problems)


def test_typed_resources_give_the_rules_what_they_need(stacks):
    rules = all_rules()
    failures = []
    for stack, _, doc in stacks:
        d = Doc(doc)
        for rid in TYPED_RULES:
            findings = run_rule(rules[rid], d.subject, d)
            assert findings and not any(f.error for f in findings), (stack, rid)
            for f in findings:
                if f.passed:
                    continue
                failures.append(f"{stack} {rid} {f.address}: {f.message}")
    assert not failures, "\n".join(failures)


def test_every_namespace_carries_all_three_pod_security_labels(stacks):
    for stack, _, doc in stacks:
        for name, ns in doc["resource"]["kubernetes_namespace_v1"].items():
            md = ns["metadata"][0] if isinstance(ns["metadata"], list) else ns["metadata"]
            labels = md.get("labels") or {}
            for mode in ("enforce", "audit", "warn"):
                assert f"pod-security.kubernetes.io/{mode}" in labels, (stack, name, mode)


def test_every_custom_resource_kind_used_has_a_vendored_schema_with_a_source():
    readme = (ROOT / "tests" / "schemas" / "README.md").read_text()
    for f in CRDS.glob("*.json"):
        assert f"SOURCE {f.name}:" in readme, f"{f.name} has no SOURCE line in tests/schemas/README.md"
