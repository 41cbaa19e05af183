"""AWS physical names, computed once: the modules, `verify`, `rollout` and the validator all use these."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from mlops_blueprint.blueprints.naming import NameRuleError, Naming, bounded

if TYPE_CHECKING:
    from mlops_blueprint.blueprints.model import Blueprint

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
    if (
        ".." in name
        or _IP.match(name)
        or name.startswith(("xn--", "sthree-"))
        or name.endswith(("-s3alias", "--ol-s3"))
    ):
        raise NameRuleError(f"S3 bucket name {name!r} breaks an S3 reserved-pattern rule (.., IP form, xn--, -s3alias)")
    return name


class AwsNames(Naming):
    """`<blueprint>-<env>-<logical>` within S3, IAM, SageMaker, ECR and Glue rules."""

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

    # The names more than one place needs.
    @property
    def artifacts_bucket(self) -> str:
        return self.bucket("model-artifacts")

    @property
    def capture_bucket(self) -> str:
        return self.bucket("inference-capture")

    @property
    def serving_role(self) -> str:
        return self.iam_role("serving")

    @property
    def cluster(self) -> str:
        return self.name("training")

    @property
    def k8s_mirror(self) -> str:
        """The ECR pull-through cache prefix that mirrors registry.k8s.io (Kueue's image) for the cluster:
        `<blueprint>-<env>-k8s`; past ECR's 30 characters, its first 21 and a digest of the whole (still
        one per environment, and the same on every run)."""
        full = self.name("k8s")
        if len(full) > 30:
            full = f"{full[:21].rstrip('-._')}-{hashlib.sha256(full.encode()).hexdigest()[:8]}"
        return bounded(full, 30, "ECR pull-through cache prefix", r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")

    @property
    def alerts_topic(self) -> str:
        return self.name("alerts")

    def persona_role(self, persona: str) -> str:
        return self.iam_role(persona.replace("_", "-"))

    def key_alias(self, purpose: str) -> str:
        return f"alias/{self.name(purpose)}"

    def endpoint(self, name: str) -> str:
        return self.sagemaker(name)

    def model_group(self, model: str) -> str:
        return self.sagemaker(model)

    def node_group(self, pool: str) -> str:
        return self.name(pool)

    @staticmethod
    def node_pool(pool: str) -> str:
        """The Auto Mode NodePool of a training pool: the pool's own name, in the cluster's namespace of
        NodePools, where EKS Auto Mode's built-in pools already stand."""
        if pool in AUTO_MODE_NODE_POOLS:
            raise NameRuleError(
                f"EKS Auto Mode NodePool name {pool!r} is taken by Auto Mode's built-in pool; "
                f"a training pool may not be named {' or '.join(map(repr, AUTO_MODE_NODE_POOLS))}"
            )
        return pool

    def state_bucket(self, override: str | None = None) -> str:
        return aws_bucket(override or self.name("tfstate"))

    def lock_table(self, override: str | None = None) -> str:
        return bounded(override or self.name("tflock"), 255, "DynamoDB table", r"^[A-Za-z0-9_.-]+$")


AUTO_MODE_NODE_POOLS = ("system", "general-purpose")  # EKS Auto Mode's built-in NodePools


def name_checks(bp: Blueprint, n: Naming) -> Iterator[tuple[tuple[str | int, ...], Callable[[], object]]]:
    assert isinstance(n, AwsNames)
    c = bp.components
    state = ("state", "bucket") if bp.state.bucket else ("metadata", "name")
    yield state, lambda: n.state_bucket(bp.state.bucket)
    for zone in c.data_lake.zones if c.data_lake else []:
        yield ("components", "data_lake", "zones"), lambda z=zone: n.bucket(z)  # type: ignore[misc]
    for ep in c.serving.endpoints if c.serving else {}:
        yield ("components", "serving", "endpoints", ep), lambda ep=ep: n.endpoint(ep)  # type: ignore[misc]
    yield ("metadata", "name"), lambda: n.capture_bucket
    for pool in c.training.pools if c.training else {}:
        yield ("components", "training", "pools", pool), lambda p=pool: n.node_pool(p)  # type: ignore[misc]
    if c.training:
        yield ("metadata", "name"), lambda: n.k8s_mirror
