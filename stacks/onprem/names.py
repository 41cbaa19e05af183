"""On-prem physical names, computed once: Kubernetes names (DNS-1123 labels, at most 63
characters), Helm release names (at most 53), bucket names (S3 rules)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from mlops_blueprint.blueprints.naming import NameRuleError, Naming

if TYPE_CHECKING:
    from mlops_blueprint.blueprints.model import Blueprint

PLANES = ("data", "training", "registry", "serving", "monitoring")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def dns_label(name: str, what: str, limit: int = 63) -> str:
    if len(name) > limit:
        raise NameRuleError(
            f"Kubernetes {what} name {name!r} is {len(name)} characters; the limit is {limit} "
            "(shorten metadata.name or the environment name)"
        )
    if not _LABEL.match(name):
        raise NameRuleError(f"Kubernetes {what} name {name!r} must be lowercase letters, digits and hyphens")
    return name


class OnpremNames(Naming):
    """`<blueprint>-<env>-<plane>` namespaces; everything inside a namespace keeps its logical name."""

    def namespace(self, plane: str) -> str:
        return dns_label(self.name(plane), "namespace")

    def release(self, *parts: str) -> str:
        return dns_label(self.name(*parts), "Helm release", limit=53)

    def bucket(self, zone: str) -> str:
        return dns_label(self.name(zone), "bucket")

    @property
    def artifacts_bucket(self) -> str:
        return dns_label(self.name("model-artifacts"), "bucket")

    def cluster_queue(self, pool: str) -> str:
        return dns_label(self.name(pool), "ClusterQueue")

    def flavor(self, pool: str) -> str:
        return dns_label(self.name(pool), "ResourceFlavor")

    def inference_service(self, endpoint: str) -> str:
        # KServe builds host names and deployments from it: keep to 45 characters.
        return dns_label(endpoint, "InferenceService", limit=45)

    def registered_model(self, model: str) -> str:
        """The MLflow registered model name."""
        return self.name(model)

    def persona(self, persona: str) -> str:
        return dns_label(persona.replace("_", "-"), "ServiceAccount")

    @property
    def state_namespace(self) -> str:
        return dns_label(self.name("tfstate"), "namespace")

    @property
    def state_secret_suffix(self) -> str:
        return dns_label(self.prefix, "Secret")


def name_checks(bp: Blueprint, n: Naming) -> Iterator[tuple[tuple[str | int, ...], Callable[[], object]]]:
    assert isinstance(n, OnpremNames)
    c = bp.components
    for plane in PLANES:
        yield ("metadata", "name"), lambda p=plane: n.namespace(p)  # type: ignore[misc]
    yield ("metadata", "name"), lambda: n.state_namespace
    yield ("metadata", "name"), lambda: n.release("monitoring")
    for zone in c.data_lake.zones if c.data_lake else []:
        yield ("components", "data_lake", "zones"), lambda z=zone: n.bucket(z)  # type: ignore[misc]
    for pool in c.training.pools if c.training else {}:
        yield ("components", "training", "pools", pool), lambda p=pool: n.cluster_queue(p)  # type: ignore[misc]
