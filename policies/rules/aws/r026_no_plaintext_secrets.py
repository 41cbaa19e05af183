"""MLOPS_AWS_026: No secret value is written in the synthesized configuration."""

import json
import re

from mlops_blueprint.policies.engine import ANY_TYPE, rule
from mlops_blueprint.policies.tfjson import Doc, refs


@rule(
    id="MLOPS_AWS_026",
    name="No secret value is written in the synthesized configuration",
    severity="critical",
    category="baseline",
    applies_to=(ANY_TYPE,),
)
def check(d: Doc):
    secret = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----")
    leaked = set()
    for addr, b in d.of("aws_secretsmanager_secret_version", "aws_ssm_parameter"):
        literal = any(
            isinstance(b.get(k), str) and not b[k].startswith("${") for k in ("secret_string", "value", "secret_binary")
        )
        if literal:
            leaked |= refs(b.get("secret_id"))
        yield addr, not literal, "a literal secret value is in the configuration" if literal else ""
    for addr, _ in d.of("aws_secretsmanager_secret"):
        yield (
            addr,
            addr not in leaked,
            "a version of this secret is written in the configuration" if addr in leaked else "",
        )
    for t, rs in d.res.items():
        for n, body in rs.items():
            hit = secret.search(json.dumps({k: v for k, v in body.items() if k != "//"}))
            if hit:
                yield f"{t}.{n}", False, f"looks like a credential: {hit.group(0)[:8]}..."
