"""MLOPS_AWS_029: No IAM policy, in any form, allows a wildcard action on every resource.

MLOPS_AWS_007 reads the policy resources' own JSON. This rule also reads what it does not: inline
policies of roles, user and group policies, policies that are `aws_iam_policy_document` data sources
(`${data.aws_iam_policy_document.X.json}`), statements with NotAction or NotResource, and attachments
of AWS-managed administrator or FullAccess policies (`*` or `service:*` on `*`, by AWS's definition).
"""

import json
import re

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list

POLICY_TYPES = ("aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy")
ATTACHMENT_TYPES = (
    "aws_iam_role_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
    "aws_iam_policy_attachment",
)
ADMIN = re.compile(r"^arn:aws[\w-]*:iam::aws:policy/(AdministratorAccess|PowerUserAccess|\w*FullAccess)$")
DOCUMENT = re.compile(r"\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}")
SPELLING = {"actions": "Action", "not_actions": "NotAction", "resources": "Resource", "not_resources": "NotResource"}


def statements(policy: object, data: dict) -> list[dict]:
    """A policy's statements: its JSON, or the `statement` blocks of the data sources it references."""
    if isinstance(policy, str) and policy.lstrip().startswith("{"):
        try:
            return [s for s in as_list(json.loads(policy).get("Statement")) if isinstance(s, dict)]
        except (ValueError, AttributeError):
            return [{"Effect": "Allow", "NotAction": "unreadable policy"}]  # fail closed
    docs = data.get("aws_iam_policy_document", {})
    return [
        {"Effect": s.get("effect", "Allow"), **{SPELLING[k]: s[k] for k in SPELLING if k in s}}
        for name in DOCUMENT.findall(str(policy))
        for s in as_list(docs.get(name, {}).get("statement"))
        if isinstance(s, dict)
    ]


def everything_everywhere(s: dict) -> bool:
    if s.get("Effect", "Allow") != "Allow":
        return False
    any_action = "NotAction" in s or any("*" in str(a) for a in as_list(s.get("Action")))
    return any_action and ("NotResource" in s or "*" in as_list(s.get("Resource")))


@rule(
    id="MLOPS_AWS_029",
    name="No IAM policy, in any form, allows a wildcard action on every resource",
    severity="critical",
    category="iam",
    applies_to=("aws_iam_role", *POLICY_TYPES, *ATTACHMENT_TYPES),
)
def check(d: Doc):
    data = d.doc.get("data", {})
    found = [(a, b.get("policy")) for a, b in d.of(*POLICY_TYPES)]
    found += [
        (a, p.get("policy"))
        for a, b in d.of("aws_iam_role")
        for p in as_list(b.get("inline_policy"))
        if isinstance(p, dict)
    ]
    for addr, policy in found:
        bad = [s for s in statements(policy, data) if everything_everywhere(s)]
        yield (
            addr,
            not bad,
            f"allows {json.dumps(bad[0], sort_keys=True)}: name the actions or the resources" if bad else "",
        )
    for addr, b in d.of(*ATTACHMENT_TYPES):
        arn = str(b.get("policy_arn", ""))
        ok = not ADMIN.match(arn)
        yield (
            addr,
            ok,
            "" if ok else f"attaches {arn.rsplit('/', 1)[-1]}, which allows a wildcard action on every resource",
        )
