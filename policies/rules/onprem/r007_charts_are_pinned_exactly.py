"""MLOPS_K8S_007: Every Helm release pins its chart to one exact version."""

import re

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import RELEASE
from mlops_blueprint.policies.tfjson import Doc

EXACT = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


@rule(
    id="MLOPS_K8S_007",
    name="Every Helm release pins its chart to an exact version",
    severity="high",
    category="baseline",
    applies_to=(RELEASE,),
)
def check(d: Doc):
    for addr, b in d.of(RELEASE):
        v = b.get("version")
        ok = isinstance(v, str) and bool(EXACT.match(v))
        yield addr, ok, "" if ok else f"chart version {v!r} is not one exact version (no ranges, no empty, no latest)"
