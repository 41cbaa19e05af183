"""Resource names: a prefix (`<blueprint>-<env>`) plus a logical name, no random suffixes.

`Naming` is what every cloud shares; each cloud subclasses it in `stacks/<cloud>/names.py` with its
own physical names and their rules, computed in one place and used by the modules, `verify`,
`rollout` and the validator. A name that breaks a rule raises `NameRuleError` with the rule, so the
validator can point at the field that produced it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class NameRuleError(ValueError):
    pass


def bounded(name: str, limit: int, what: str, pattern: str = r"^[A-Za-z0-9][A-Za-z0-9-]*$") -> str:
    if len(name) > limit:
        raise NameRuleError(f"{what} name {name!r} is {len(name)} characters; the limit is {limit}")
    if not re.match(pattern, name):
        raise NameRuleError(f"{what} name {name!r} does not match {pattern}")
    return name


@dataclass(frozen=True)
class Naming:
    """Names for one environment of one blueprint: `<blueprint>-<env>-<logical>`."""

    blueprint: str
    env: str

    @property
    def prefix(self) -> str:
        return f"{self.blueprint}-{self.env}"

    def name(self, *parts: str) -> str:
        return "-".join((self.prefix, *parts))
