"""One composition for every cloud: the order and wiring of the components, written once.

baseline -> data lake -> catalog -> training -> registry -> serving -> monitoring, then the
platform's own workloads, then the personas, then the outputs. A cloud supplies its constructs
through a `Kit` (`modules/contracts.py`); what each persona may touch comes from the blueprint's
access block and is granted through the components' typed grant methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic

from constructs import Construct

from mlops_blueprint.blueprints.model import PERSONAS
from mlops_blueprint.modules.contracts import Baseline, Catalog, Kit, Lake, P, Registry, Serving, Training


@dataclass
class Platform(Generic[P]):
    baseline: Baseline[P]
    lake: Lake[P] | None = None
    catalog: Catalog[P] | None = None
    training: Training[P] | None = None
    registry: Registry[P] | None = None
    serving: Serving[P] | None = None
    monitoring: Any = None


def compose(scope: Construct, kit: Kit[P]) -> Platform[P]:
    bp = kit.env.blueprint
    c = bp.components
    p: Platform[P] = Platform(kit.baseline(scope, "baseline"))
    if c.data_lake:
        p.lake = kit.data_lake(scope, "data_lake", p.baseline)
    if c.catalog:
        p.catalog = kit.catalog(scope, "catalog", p.baseline, p.lake)
    if c.training:
        p.training = kit.training(scope, "training", p.baseline)
    if c.registry:
        p.registry = kit.registry(scope, "registry", p.baseline)
    if c.serving and p.registry:
        p.serving = kit.serving(scope, "serving", p.baseline, p.registry)
    if c.monitoring:
        capacity = {
            name: ep.max_replicas * ep.target_invocations_per_replica
            for name, ep in (c.serving.endpoints.items() if c.serving else [])
        }
        p.monitoring = kit.monitoring(scope, "monitoring", p.baseline, p.serving, p.training, capacity)
    kit.workloads(p)
    grant_personas(kit, p)
    kit.outputs(scope, p)
    return p


def grant_personas(kit: Kit[P], p: Platform[P]) -> None:
    """Each persona gets exactly what the blueprint's access block says, through the grant methods."""
    access = kit.env.blueprint.access
    for persona in PERSONAS:
        spec, who = getattr(access, persona), p.baseline.personas[persona]
        if p.lake:
            zones = p.lake.zones
            p.lake.grant(
                who,
                read=[z for z in spec.lake.read if z in zones],
                write=[z for z in spec.lake.write if z in zones],
                id=f"{persona}-lake",
            )
        if p.catalog:
            p.catalog.grant(who, spec.catalog, id=f"{persona}-catalog")
        if p.training and spec.training:
            p.training.grant_submit(who, id=f"{persona}-training")
        if p.registry and spec.registry == "read":
            p.registry.grant_pull(who, id=f"{persona}-registry")
        elif p.registry and spec.registry == "write":
            p.registry.grant_push(who, id=f"{persona}-registry")
        if p.serving and spec.serving == "invoke":
            p.serving.grant_invoke(who, id=f"{persona}-serving")
        elif p.serving and spec.serving == "deploy":
            p.serving.grant_deploy(who, id=f"{persona}-serving")
