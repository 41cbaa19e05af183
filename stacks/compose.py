"""One composition for every cloud: the order and wiring of the components, written once.

baseline -> data lake -> catalog -> training -> registry -> serving -> monitoring, then the
platform's own workloads, then the personas, then the outputs. A cloud supplies its constructs
through a `Kit` (`modules/contracts.py`); what each persona may touch comes from the blueprint's
access block and is granted through the components' typed grant methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from constructs import Construct

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.blueprints.model import PERSONAS
from mlops_blueprint.blueprints.naming import Naming
from mlops_blueprint.modules.contracts import Baseline, Catalog, Kit, Lake, P, Registry, Serving, Training

if TYPE_CHECKING:
    from mypy_extensions import NamedArg


@dataclass
class Platform(Generic[P]):
    baseline: Baseline[P]
    lake: Lake[P] | None = None
    catalog: Catalog[P] | None = None
    training: Training[P] | None = None
    registry: Registry[P] | None = None
    serving: Serving[P] | None = None
    monitoring: Any = None


# The components a Kit builds from its `parts` table (the baseline is each cloud's own).
Component = Literal["data_lake", "catalog", "training", "registry", "serving", "monitoring"]

C = TypeVar("C")
C_co = TypeVar("C_co", covariant=True)
PR = TypeVar("PR")


def props_fields(cls: type) -> frozenset[str]:
    """The field names of a props class; a clear TypeError when it is no dataclass."""
    if not is_dataclass(cls):
        raise TypeError(
            f"{cls.__qualname__} is not a dataclass: a component's props class must be a (frozen) dataclass"
        )
    return frozenset(f.name for f in fields(cls))


@dataclass(frozen=True)
class Part(Generic[C_co, PR]):
    """A cloud's construct for one component and its props class (a dataclass: `KitBase.make_props`
    reads its fields). mypy checks that the construct takes these props."""

    # `(scope, id, *, props: PR) -> C`. A callback Protocol would check nothing here: the constructs
    # subclass `constructs.Construct`, which mypy sees as Any, and such a class satisfies any Protocol.
    construct: Callable[[Construct, str, NamedArg(PR, "props")], C_co]
    props: type[PR]

    def __post_init__(self) -> None:
        props_fields(self.props)  # a props class that is no dataclass fails here, when the cloud's table is made


@dataclass(frozen=True)
class Parts(Generic[P]):
    """A cloud's part for each component the composition builds (the fields are the `Component` names),
    all required: a missing one is a mypy error and a TypeError when the cloud's stack module is imported,
    not a KeyError at synth; a construct paired with props it does not take is a mypy error. Each slot
    names its component's contract for the principal `P`; mypy sees the constructs' base class as Any,
    so it does not hold a construct to its slot's contract (a construct in the wrong slot passes)."""

    data_lake: Part[Lake[P], Any]
    catalog: Part[Catalog[P], Any]
    training: Part[Training[P], Any]
    registry: Part[Registry[P], Any]
    serving: Part[Serving[P], Any]
    monitoring: Part[Construct, Any]


@dataclass
class KitBase(Generic[P]):
    """What every cloud's Kit shares: the environment, its names, props built the same way, and the
    component constructors. A cloud lists its construct and props class per component in `parts`;
    it writes its own `baseline`, `workloads` and `outputs`, and names in `extra_props` what its props
    take beyond what the composition passes (e.g. GCP's training takes the network's CIDR)."""

    parts: ClassVar[Parts[P]]

    env: ResolvedEnv
    names: Naming

    @property
    def protect(self) -> bool:
        return self.env.settings.protect_stateful

    @property
    def notify(self) -> tuple[str, ...]:
        """Who hears about budgets and alerts: the monitoring block's list, else the owner."""
        bp = self.env.blueprint
        return tuple(bp.components.monitoring.notify) if bp.components.monitoring else (bp.metadata.owner,)

    def make_props(self, cls: type[PR], component: Component, **deps: Any) -> PR:
        """`cls(naming, spec=<the component's block>, protect, **deps)`; `protect` only where the props take it."""
        spec = getattr(self.env.blueprint.components, component)
        if spec is None:  # compose only builds the components the blueprint declares
            raise ValueError(f"components.{component} is not in the blueprint")
        extra = {"protect": self.protect} if "protect" in props_fields(cls) else {}
        new: Callable[..., PR] = cls  # mypy does not see a dataclass's fields through type[PR]
        return new(naming=self.names, spec=spec, **extra, **self.extra_props(component), **deps)

    def extra_props(self, component: Component) -> dict[str, Any]:
        """What this cloud's props of `component` take beyond what the composition passes (none here)."""
        return {}

    def grant_trainer_lake(self, lake: Lake[P], trainer: P) -> None:
        """Training jobs read the lake zones data scientists read, and write none."""
        ds = self.env.blueprint.access.data_scientists.lake
        lake.grant(trainer, read=[z for z in ds.read if z in lake.zones], write=[], id="trainer-lake")

    def build(self, component: Component, part: Part[C, Any], scope: Construct, id: str, **deps: Any) -> C:
        """`part`'s construct for `component`, its props from the environment plus `deps`."""
        return part.construct(scope, id, props=self.make_props(part.props, component, **deps))

    def data_lake(self, scope: Construct, id: str, baseline: Any) -> Lake[P]:
        return self.build("data_lake", self.parts.data_lake, scope, id, baseline=baseline)

    def catalog(self, scope: Construct, id: str, baseline: Any, lake: Any) -> Catalog[P]:
        return self.build("catalog", self.parts.catalog, scope, id, baseline=baseline, lake=lake)

    def training(self, scope: Construct, id: str, baseline: Any) -> Training[P]:
        return self.build("training", self.parts.training, scope, id, baseline=baseline)

    def registry(self, scope: Construct, id: str, baseline: Any) -> Registry[P]:
        return self.build("registry", self.parts.registry, scope, id, baseline=baseline)

    def serving(self, scope: Construct, id: str, baseline: Any, registry: Any) -> Serving[P]:
        return self.build("serving", self.parts.serving, scope, id, baseline=baseline, registry=registry)

    def monitoring(
        self, scope: Construct, id: str, baseline: Any, serving: Any, training: Any, capacity: dict[str, int]
    ) -> Any:
        return self.build(
            "monitoring",
            self.parts.monitoring,
            scope,
            id,
            baseline=baseline,
            serving=serving,
            training=training,
            serving_capacity=capacity,
        )


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
