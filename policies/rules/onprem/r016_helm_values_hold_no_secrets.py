"""MLOPS_K8S_016: No password, token or key is written into Helm values (they land in state and in the release)."""

import re

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.rules.onprem import RELEASE, dotted, helm_values, walk
from mlops_blueprint.policies.tfjson import Doc, as_list

SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|api_?key|access_?key|secret_?key|private_?key|credentials?)$", re.IGNORECASE
)
# Keys that name a Secret (or a file or a key inside one) rather than hold the value; anything under
# such a key (`existingSecret.keyOfSecretAccessKey`) names too.
REFERENCE = re.compile(r"(existing|name|ref|file|path|keyof|mount|enabled|create)", re.IGNORECASE)


def leaks(values: object) -> list[str]:
    return [
        dotted(p)
        for p, k, v in walk(values)
        if isinstance(k, str)
        and SECRET_KEY.search(k)
        and not any(REFERENCE.search(str(part)) for part in p)
        and isinstance(v, str)
        and v.strip()
    ]


@rule(
    id="MLOPS_K8S_016",
    name="Helm values hold no passwords, tokens or keys",
    severity="critical",
    category="iam",
    applies_to=(RELEASE,),
)
def check(d: Doc):
    for addr, b in d.of(RELEASE):
        bad = [p for doc in helm_values(b) for p in leaks(doc)]
        bad += [
            f"set {s.get('name')}"
            for s in as_list(b.get("set")) + as_list(b.get("set_sensitive"))
            if isinstance(s, dict)
            and SECRET_KEY.search(str(s.get("name", "")).rsplit(".", 1)[-1])
            and not REFERENCE.search(str(s.get("name", "")).rsplit(".", 1)[-1])
        ]
        yield (
            addr,
            not bad,
            ""
            if not bad
            else (
                f"literal secret values at {', '.join(bad)}: reference an existing Secret (existingSecret, secretKeyRef)"
            ),
        )
