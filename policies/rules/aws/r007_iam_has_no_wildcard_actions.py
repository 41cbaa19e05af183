"""MLOPS_AWS_007: IAM policies name their actions (no * or service:*)."""

import json

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


@rule(
    id="MLOPS_AWS_007",
    name="IAM policies name their actions (no * or service:*)",
    severity="critical",
    category="baseline",
    applies_to=("aws_iam_role_policy", "aws_iam_policy"),
)
def check(d: Doc):
    for addr, b in d.of("aws_iam_role_policy", "aws_iam_policy"):
        doc = json.loads(b["policy"]) if str(b.get("policy", "")).startswith("{") else {"Statement": []}
        bad = [
            a
            for s in as_list(doc.get("Statement"))
            if s.get("Effect") == "Allow"
            for a in as_list(s.get("Action"))
            if a == "*" or a.endswith(":*")
        ]
        yield addr, not bad, f"wildcard actions: {', '.join(sorted(set(bad)))}" if bad else ""
