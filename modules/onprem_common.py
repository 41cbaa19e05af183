"""Pieces every on-prem construct uses: the principal (a persona's ServiceAccount), raw manifests
and pinned Helm releases. They are cloud-neutral and live in `modules/k8s_common.py` (the cloud
cluster stacks use them too); this module re-exports them for the on-prem constructs. Namespaced RBAC
grants are `OnpremBaseline.grant` (it refuses wildcards).

Charts are pinned in `CHARTS` (repository, chart, version, and where its values schema comes from);
a release is made only through `release()`, so no chart is ever unpinned.
"""

from __future__ import annotations

from mlops_blueprint.modules.common import protect
from mlops_blueprint.modules.k8s_common import CHARTS, Chart, Principal, manifest, release

__all__ = ["protect", "Principal", "Chart", "CHARTS", "release", "manifest"]
