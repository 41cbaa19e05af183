"""MLOPS_AWS_008: IAM roles are assumable only by named accounts or services."""

import json

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_AWS_008",
    name="IAM roles are assumable only by named accounts or services",
    severity="critical",
    category="baseline",
    applies_to=("aws_iam_role",),
)
def check(d: Doc):
    for addr, b in d.of("aws_iam_role"):
        doc = json.loads(b.get("assume_role_policy") or "{}")
        bad = [
            s
            for s in as_list(doc.get("Statement"))
            if s.get("Effect") == "Allow"
            and (s.get("Principal") == "*" or "*" in as_list((s.get("Principal") or {}).get("AWS")))
        ]
        yield addr, not bad, "trust policy allows any principal (*)" if bad else ""
