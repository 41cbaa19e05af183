"""Offline proof that a cluster stack's raw objects would be accepted, without an API server: built-in
kinds against the Kubernetes OpenAPI schema of the cluster's version (kubernetes-validate, strict:
unknown fields fail), custom resources (Kueue, Karpenter NodePool, EKS Auto Mode NodeClass) against their
vendored CRD schemas (`tests/schemas/crds/<group>_<kind>_<version>.json`, sources in
tests/schemas/README.md).

A value that is a whole Terraform expression (`${...}`: an id or a list read from the cloud when the
stack plans, such as a NodeClass's subnets) is unknown offline: a custom resource's schema errors about
that value itself are not reported; everything around it (required fields, the other values) is checked.

Used by `up --local` (the emulator has no API server, so the cluster stack is validated, gated and not
applied) and by the tests. Needs the dev tools (kubernetes-validate, jsonschema) and a source checkout
(the vendored schemas); `available()` says why it cannot run otherwise.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

CRDS = Path(__file__).resolve().parents[2] / "tests" / "schemas" / "crds"
TERRAFORM_EXPRESSION = re.compile(r"\$\{.*\}", re.S)  # the whole value is one interpolation


def available() -> str | None:
    """None when validation can run, else why not (one line)."""
    try:
        import jsonschema  # noqa: F401
        import kubernetes_validate  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (`pip install -e '.[dev]'`)"
    if not CRDS.is_dir():
        return f"the vendored CRD schemas are not here ({CRDS}): run from a source checkout"
    return None


@cache
def crd_schema(api_version: str, kind: str) -> dict | None:
    group, _, version = api_version.rpartition("/")
    f = CRDS / f"{group}_{kind}_{version}.json"
    return json.loads(f.read_text()) if f.exists() else None


def is_unknown(value: object) -> bool:
    """A value Terraform fills in when it plans (a whole `${...}` expression in the synthesized JSON)."""
    return isinstance(value, str) and TERRAFORM_EXPRESSION.fullmatch(value) is not None


def is_builtin(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io") and not group.startswith("kueue.")


def object_errors(obj: dict, version: str) -> list[str]:
    """What the API server of Kubernetes `version` (e.g. "1.34") would refuse in `obj`."""
    import jsonschema
    import kubernetes_validate

    api, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    if is_builtin(api):
        try:
            kubernetes_validate.validate(obj, f"{version}.0", strict=True)
        except kubernetes_validate.ValidationError as e:
            return [f"{api} {kind}: {'.'.join(str(p) for p in e.path)}: {e.message}"]
        except kubernetes_validate.SchemaNotFoundError:
            return [f"{api} {kind}: no built-in schema in Kubernetes {version}"]
        return []
    schema = crd_schema(api, kind)
    if schema is None:
        return [f"{api} {kind}: no vendored CRD schema (add tests/schemas/crds/<group>_{kind}_<version>.json)"]
    # apiVersion, kind and metadata are checked by the API server itself, not the CRD schema
    return [
        f"{api} {kind}: {'.'.join(str(p) for p in e.path)}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(obj)
        if not (e.path and e.path[0] == "metadata") and not is_unknown(e.instance)
    ]


def stack_errors(doc: dict, version: str) -> tuple[int, list[str]]:
    """(objects checked, problems) for every `kubernetes_manifest` of a synthesized stack."""
    manifests = doc.get("resource", {}).get("kubernetes_manifest", {})
    problems = [f"{name}: {p}" for name, body in manifests.items() for p in object_errors(body["manifest"], version)]
    return len(manifests), problems
