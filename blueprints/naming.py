"""Resource names: a prefix (`<blueprint>-<env>`) plus a logical name, no random suffixes.

Each function returns the name or raises `NameRuleError` with the rule that was
broken, so the validator can point at the field that produced the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class NameRuleError(ValueError):
    pass


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def aws_bucket(name: str) -> str:
    """S3 bucket naming rules (general purpose buckets)."""
    if not 3 <= len(name) <= 63:
        raise NameRuleError(f"S3 bucket name {name!r} is {len(name)} characters; S3 allows 3 to 63")
    if not _BUCKET.match(name):
        raise NameRuleError(
            f"S3 bucket name {name!r} may hold only lowercase letters, digits, dots and hyphens, "
            "and must start and end with a letter or digit"
        )
    if ".." in name or _IP.match(name) or name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        raise NameRuleError(f"S3 bucket name {name!r} breaks an S3 reserved-pattern rule (.., IP form, xn--, -s3alias)")
    return name


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

    def bucket(self, *parts: str) -> str:
        return aws_bucket(self.name(*parts))

    def glue_database(self, db: str) -> str:
        return bounded(f"{self.prefix.replace('-', '_')}_{db}", 255, "Glue database", r"^[a-z0-9_]+$")

    def iam_role(self, *parts: str) -> str:
        return bounded(self.name(*parts), 64, "IAM role", r"^[A-Za-z0-9+=,.@_-]+$")

    def sagemaker(self, *parts: str) -> str:
        return bounded(self.name(*parts), 63, "SageMaker")

    def ecr_repository(self, model: str) -> str:
        return bounded(f"{self.prefix}/{model}", 256, "ECR repository", r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")

    def state_bucket(self, override: str | None = None) -> str:
        return aws_bucket(override or self.name("tfstate"))

    def lock_table(self, override: str | None = None) -> str:
        return bounded(override or self.name("tflock"), 255, "DynamoDB table", r"^[A-Za-z0-9_.-]+$")
