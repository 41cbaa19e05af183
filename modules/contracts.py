"""The typed contracts between components, the same on every cloud.

A component grants to a principal of its cloud: an IAM role on AWS, a service account on GCP, a
managed identity on Azure. `P` is that type; a cloud's constructs all agree on it, so the persona
wiring in `stacks/compose.py` is typed end to end and never handles a hand-built member string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from constructs import Construct

from mlops_blueprint.blueprints.loader import ResolvedEnv

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)
P_contra = TypeVar("P_contra", contravariant=True)


class Baseline(Protocol[P_co]):
    """One principal per persona, with nothing granted until a component grants it."""

    @property
    def personas(self) -> Mapping[str, P_co]: ...


class Lake(Protocol[P_contra]):
    @property
    def zones(self) -> Mapping[str, Any]: ...

    def grant(self, principal: P_contra, *, read: list[str], write: list[str], id: str) -> None: ...


class Catalog(Protocol[P_contra]):
    def grant(self, principal: P_contra, level: str, *, id: str) -> None: ...


class Training(Protocol[P_contra]):
    def grant_submit(self, principal: P_contra, *, id: str) -> None: ...


class Registry(Protocol[P_contra]):
    def grant_pull(self, principal: P_contra, *, id: str) -> None: ...

    def grant_push(self, principal: P_contra, *, id: str) -> None: ...


class Serving(Protocol[P_contra]):
    def grant_invoke(self, principal: P_contra, *, id: str) -> None: ...

    def grant_deploy(self, principal: P_contra, *, id: str) -> None: ...


class Kit(Protocol[P]):
    """What a cloud supplies to the one composition: a constructor per component (each builds its
    own props from the environment), the wiring of the platform's own workloads, and the outputs.
    Construct ids are fixed by the composition ("baseline", "data_lake", ...): they are part of the API."""

    env: ResolvedEnv

    def baseline(self, scope: Construct, id: str) -> Baseline[P]: ...

    def data_lake(self, scope: Construct, id: str, baseline: Any) -> Lake[P]: ...

    def catalog(self, scope: Construct, id: str, baseline: Any, lake: Any) -> Catalog[P]: ...

    def training(self, scope: Construct, id: str, baseline: Any) -> Training[P]: ...

    def registry(self, scope: Construct, id: str, baseline: Any) -> Registry[P]: ...

    def serving(self, scope: Construct, id: str, baseline: Any, registry: Any) -> Serving[P]: ...

    def monitoring(
        self, scope: Construct, id: str, baseline: Any, serving: Any, training: Any, capacity: dict[str, int]
    ) -> Any: ...

    def workloads(self, platform: Any) -> None:
        """Grants to the platform's own identities (nodes pull images, training jobs read the lake)."""

    def outputs(self, scope: Construct, platform: Any) -> None: ...
