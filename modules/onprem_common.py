"""Pieces every on-prem construct uses: the principal (a persona's ServiceAccount), raw manifests
and pinned Helm releases. Namespaced RBAC grants are `OnpremBaseline.grant` (it refuses wildcards).

Charts are pinned in `CHARTS` (repository, chart, version, and where its values schema comes from);
a release is made only through `release()`, so no chart is ever unpinned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktn_provider_helm.release import Release
from cdktn_provider_kubernetes.manifest import Manifest
from constructs import Construct

from mlops_blueprint.modules.common import protect

__all__ = ["protect", "Principal", "Chart", "CHARTS", "release", "manifest"]


@dataclass(frozen=True)
class Principal:
    """A persona (or a platform workload) inside the cluster: a ServiceAccount, and optionally the
    identity-provider group its people arrive as (OIDC `groups` claim), both bound by the same grants."""

    name: str
    namespace: str
    group: str | None = None

    def subjects(self) -> list[dict[str, str]]:
        out = [{"kind": "ServiceAccount", "name": self.name, "namespace": self.namespace}]
        if self.group:
            out.append({"kind": "Group", "name": self.group, "api_group": "rbac.authorization.k8s.io"})
        return out


@dataclass(frozen=True)
class Chart:
    repository: str  # an https Helm repository or an oci:// registry
    chart: str
    version: str  # exact: never a range
    app_version: str = ""
    values_schema: str | None = None  # path of the vendored values.schema.json (None: the chart publishes none)


# The charts the platform installs (filled in by each component's module; reviewed 2026-11).
CHARTS: dict[str, Chart] = {}


def release(
    scope: Construct,
    id: str,
    *,
    name: str,
    chart: str,
    namespace: str,
    values: dict[str, Any],
    protect_it: bool = False,
    depends_on: list | None = None,
) -> Release:
    """A Helm release of a pinned chart from `CHARTS`, with its values as one YAML document; atomic,
    so a failed install or upgrade rolls back."""
    import yaml

    c = CHARTS[chart]
    return Release(
        scope,
        id,
        name=name,
        repository=c.repository,
        chart=c.chart,
        version=c.version,
        namespace=namespace,
        values=[yaml.safe_dump(values, sort_keys=True)],
        atomic=True,
        cleanup_on_fail=True,
        max_history=5,
        wait=True,
        timeout=900,
        lifecycle=protect(protect_it),
        depends_on=depends_on,
    )


def manifest(
    scope: Construct, id: str, obj: dict[str, Any], *, depends_on: list | None = None, protect_it: bool = False
) -> Manifest:
    """A raw Kubernetes object (custom resources: Kueue, KServe, Prometheus Operator). Tests validate
    every one against the Kubernetes OpenAPI schema of the target version or its vendored CRD schema."""
    return Manifest(scope, id, manifest=obj, depends_on=depends_on, lifecycle=protect(protect_it))
