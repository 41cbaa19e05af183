"""The cloud registry: one object per target cloud, looked up by `target.cloud`.

Everything that differs by cloud is reached through a `Cloud`: its catalog (what it offers in the
blueprint's neutral words), its physical names and their rules, the fields of `target` that belong
to it, its stateful resource types, its policy rule package, its stack class, and its glue (state
bootstrap, verify, rollout, credential errors). Core code never compares cloud names: it asks the
registry.

A cloud is one package, `stacks/<cloud>/`, whose `__init__.py` defines `CLOUD`; registering it is
one line in `_PACKAGES` below. Packages are imported on first use, so `validate` pays only for the
catalog and names of the blueprint's own cloud, never for provider bindings or SDKs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_blueprint.blueprints.model import Blueprint
    from mlops_blueprint.blueprints.naming import Naming

# The registry: target.cloud -> the package that defines its CLOUD object. One line per cloud.
_PACKAGES: dict[str, str] = {
    "aws": "mlops_blueprint.stacks.aws",
    "gcp": "mlops_blueprint.stacks.gcp",
    "azure": "mlops_blueprint.stacks.azure",
    "onprem": "mlops_blueprint.stacks.onprem",
}

NAMES: tuple[str, ...] = tuple(_PACKAGES)

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class KubernetesRelease:
    """One Kubernetes minor version on a cloud: the last day of standard support and of extended
    support (ISO dates; `extended_end` == `standard_end` when the cloud sells no extended support).
    estimate: True when a date is the provider's estimate or derived from its stated policy."""

    standard_end: str
    extended_end: str  # "" = no end known (the vendor decides): never an error by date
    estimate: bool = False


@dataclass(frozen=True)
class Catalog:
    """What a cloud offers, in the blueprint's neutral words. Pure data, reviewed on `reviewed`.

    training: accelerator -> {accelerators per node -> machine type}. serving: size -> machine type.
    nearest: accelerator the cloud lacks -> the one to suggest. accelerator_regions: where each
    accelerator can be had (None: every supported region). serving_accelerators: size -> (type, count)
    for sizes that carry an accelerator. accelerator_types: accelerator -> the cloud's own type name."""

    reviewed: str
    regions: tuple[str, ...]
    training: Mapping[str, Mapping[int, str]]
    serving: Mapping[str, str]
    state_backend: str
    nearest: Mapping[str, str] = field(default_factory=dict)
    accelerator_regions: Mapping[str, tuple[str, ...]] | None = None
    serving_accelerators: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    accelerator_types: Mapping[str, str | None] = field(default_factory=dict)
    # GPU sharing modes the cloud can build (`Pool.sharing.mode`), and why the others are refused.
    sharing_modes: tuple[str, ...] = ("none",)
    sharing_note: str = ""
    # Kubernetes minor versions the cloud accepts (empty: not checked here).
    kubernetes_versions: tuple[str, ...] = ()
    # Each version's support window (empty: versions not checked against dates), where the dates come
    # from and when they were reviewed, and what extended support costs (named in the warning).
    kubernetes_support: Mapping[str, KubernetesRelease] = field(default_factory=dict)
    kubernetes_source: str = ""
    kubernetes_reviewed: str = ""
    extended_support_cost: str = ""
    # Serving machine-type families (prefixes such as "ml.g5.") with local instance storage that the
    # hardware encrypts and for which the cloud refuses a customer-managed key (SageMaker endpoints).
    serving_instance_storage: tuple[str, ...] = ()

    def support_phase(self, version: str, day: date) -> str | None:
        """Where `version` stands on `day`: "standard", "extended" (past standard support, not past
        extended), "ended", or None when the table does not list it."""
        release = self.kubernetes_support.get(version)
        if release is None:
            return None
        if release.extended_end and day > date.fromisoformat(release.extended_end):
            return "ended"
        return "extended" if day > date.fromisoformat(release.standard_end) else "standard"

    def training_instance(self, accelerator: str, gpus: int) -> str | None:
        return self.training.get(accelerator, {}).get(gpus)

    def serving_instance(self, size: str) -> str | None:
        return self.serving.get(size)

    def has_instance_storage(self, machine_type: str) -> bool:
        """`machine_type` (a serving machine type) has local instance storage: see `serving_instance_storage`."""
        return bool(self.serving_instance_storage) and machine_type.startswith(self.serving_instance_storage)

    def regions_for(self, accelerator: str) -> tuple[str, ...] | None:
        """Regions offering `accelerator`; None when the cloud keeps no such catalog (all regions)."""
        return None if self.accelerator_regions is None else self.accelerator_regions.get(accelerator, ())


@dataclass(frozen=True)
class Cloud:
    """One target cloud. Heavy parts (`stack`, `glue`, `emulator`) are "module:attr" strings,
    resolved on first use by `load`, so that looking a cloud up costs nothing.

    names(blueprint, env): the environment's physical names (a `Naming` subclass).
    name_checks(bp, names): (field path, a thunk that builds one name) for every name the modules make;
      a thunk raises NameRuleError when the cloud's rules refuse the name.
    target_fields: the fields of `target` that belong to this cloud -> a description;
      required_target_fields: those it cannot do without.
    stateful_types: Terraform resource types whose destroy loses data -> what they hold.
    provider_keys: provider block names in a synthesized stack that mark it as this cloud's.
    environment_of(doc): the blueprint environment a synthesized stack was made for.
    glue: "module:GLUE", a `scripts.glue.Glue` (state bootstrap, verify, rollout, credentials; its
      optional parts declared in its `capabilities`).
    emulator: a module with `start`, `status`, `stop`, or None when the cloud has no embedded emulator.
    """

    name: str
    title: str
    catalog: Catalog
    names: Callable[[str, str], Naming]
    name_checks: Callable[[Blueprint, Naming], Iterable[tuple[Path, Callable[[], object]]]]
    target_fields: Mapping[str, str]
    required_target_fields: tuple[str, ...]
    stateful_types: Mapping[str, str]
    provider_keys: tuple[str, ...]
    environment_of: Callable[[dict], str]
    rules_package: str
    stack: str
    glue: str
    emulator: str | None = None
    # The cluster stack class ("module:attr"): the in-cluster layer (`<blueprint>-<env>-cluster`), applied
    # after the cloud stack. None: the cloud's one stack is already in-cluster (or there is no cluster).
    cluster_stack: str | None = None
    no_emulator_hint: str = "synth and check run offline; verify and rollout need the cloud"
    # Validation only this cloud needs, beyond its catalog and names: yields (field path, message).
    checks: Callable[[Blueprint], Iterable[tuple[Path, str]]] | None = None

    def load(self, part: str) -> Any:
        """Import a heavy part: 'stack' (the TerraformStack class), 'glue' (a Glue) or 'emulator' (a module)."""
        ref = getattr(self, part)
        if ref is None:
            raise LookupError(f"{self.title} has no {part}")
        module, _, attr = ref.partition(":")
        mod = importlib.import_module(module)
        return getattr(mod, attr) if attr else mod


_LOADED: dict[str, Cloud] = {}


def get(name: str) -> Cloud:
    """The registered cloud `name` (KeyError for an unregistered one: the model refuses those first)."""
    if name not in _LOADED:
        _LOADED[name] = importlib.import_module(_PACKAGES[name]).CLOUD
    return _LOADED[name]


def every() -> Iterator[Cloud]:
    for name in NAMES:
        yield get(name)


def stateful_types() -> dict[str, str]:
    """Every registered cloud's stateful resource types (the data-loss guard reads a plan of any cloud)."""
    return {t: what for c in every() for t, what in c.stateful_types.items()}


def stack_metadata(doc: dict) -> dict:
    """What `stacks.record` wrote down in a synthesized stack's `//` metadata (blueprint, environment,
    cloud, layer); {} for a document without it (a fixture, a stack synthesized by an older version)."""
    meta = doc.get("//", {}) if isinstance(doc, dict) else {}
    found = meta.get("mlops_blueprint") if isinstance(meta, dict) else None
    return found if isinstance(found, dict) else {}


def cloud_of_doc(doc: dict) -> Cloud | None:
    """The cloud a synthesized stack (cdk.tf.json) was made for: the one its metadata names; for a document
    without metadata, the first cloud whose provider it configures."""
    named = stack_metadata(doc).get("cloud")
    if isinstance(named, str) and named in _PACKAGES:
        return get(named)
    providers = doc.get("provider", {})
    return next((c for c in every() if any(k in providers for k in c.provider_keys)), None)


def region_owner(region: str) -> Cloud | None:
    """The cloud a region name belongs to (region names do not overlap between clouds)."""
    return next((c for c in every() if region in c.catalog.regions), None)
