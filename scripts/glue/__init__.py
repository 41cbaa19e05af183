"""SDK glue: what Terraform cannot do, per cloud (`scripts/glue/<cloud>.py`).

Every cloud's glue module exports `GLUE`, an instance of a `Glue` subclass, which the pipeline reaches
through the registry (`registry.get(cloud).load("glue")`, the cloud's "module:GLUE" string). The
subclass delegates to the module's functions, so a test that patches a module function patches the glue.

Required (abstract in `Glue`):
- `bootstrap_state(env, target, report)`: create the environment's state backend when missing;
- `delete_state(env, target, report)`: remove it (local mode only, after a complete destroy);
- `verify(env, target) -> list[Check]`: read back what the blueprint promises;
- `rollout(env, endpoint, image_tag, traffic, target, artifact) -> RolloutResult`;
- `credential_errors() -> tuple[type[Exception], ...]` and `CREDENTIALS_HINT`: the SDK's "no
  credentials" errors, which the pipeline turns into a plain message and exit 3;
- `credentials_problem() -> str | None`: what is wrong with the credentials the environment presents,
  found without the network (a variable set but empty, as in a fork's pull request; a profile or a
  file that does not exist; no source at all), or None. The pipeline asks it before plan, up, down,
  verify, rollout, drift and outputs touch the cloud, and stops with the plain message and exit 3.

With a default:
- `cleanup_rollouts(env, target, report)`: before (and after) `down`'s destroy, remove what rollouts
  created and Terraform does not know (on AWS: model versions, rollout models and endpoint
  configurations); nothing by default.

Optional, declared in `capabilities` (the pipeline asks `Capability.X in glue.capabilities`), and a
glue overrides exactly the methods it declares (checked when the subclass is defined):
- `SWEEP_UNTRACKED`: `sweep_untracked(env, target, state, report, backend=None) -> list[str]`;
- `IMPORT_IDS`: `import_ids(doc, addresses, env, target) -> {address: import id or None}`.

The shared types live here.
"""

from __future__ import annotations

import enum
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.loader import ResolvedEnv

Reporter = Callable[[str], None]
CANARY, PRIMARY = "canary", "primary"


@dataclass
class Target:
    """Where Terraform and the SDKs run: the embedded emulator (local) or the ambient credentials.
    env: extra environment for terraform (emulator endpoint and keys); endpoint: the SDKs' endpoint."""

    local: bool
    mirror: Path | None
    env: dict[str, str] = field(default_factory=dict)
    endpoint: str | None = None


@dataclass(frozen=True)
class Check:
    component: str
    subject: str
    ok: bool
    detail: str


class RolloutError(UserError):
    """The rollout cannot start (unknown endpoint, nothing deployed, bad share); nothing was changed."""


@dataclass
class RolloutResult:
    endpoint: str
    version: str  # the registry's name for the new version
    traffic: dict[str, int]  # deployment/variant -> percent
    steps: list[str] = field(default_factory=list)


def endpoint_spec(env: ResolvedEnv, endpoint: str):
    eps = env.blueprint.components.serving.endpoints if env.blueprint.components.serving else {}
    if endpoint not in eps:
        raise RolloutError(f"endpoint {endpoint!r} is not in the blueprint; endpoints: {', '.join(eps) or 'none'}")
    return eps[endpoint]


def check_share(traffic: int) -> None:
    if not 1 <= traffic <= 100:
        raise RolloutError(f"--traffic {traffic}: give the new version between 1 and 100 percent")


def split(current: dict[str, int], new_key: str, share: int) -> dict[str, int]:
    """Give `new_key` `share` percent and scale the current split to the rest; sums to exactly 100.
    With nothing deployed yet, the new deployment takes all traffic."""
    if not current:
        return {new_key: 100}
    rest = 100 - share
    total = sum(current.values()) or 1
    scaled = {k: rest * v // total for k, v in current.items()}
    if scaled:  # rounding remainder to the largest current share
        biggest = max(scaled, key=lambda k: (current[k], k))
        scaled[biggest] += rest - sum(scaled.values())
    return {**{k: v for k, v in scaled.items() if v > 0 or share < 100}, new_key: share}


def bounded(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[:limit].rstrip("-")


def run_checks(out: list[Check], errors: tuple[type[Exception], ...], describe: Callable[[Exception], str]):
    """A `check(component, subject, fn)` that records fn's (ok, detail), or the SDK error as a failure."""

    def check(component: str, subject: str, fn: Callable[[], tuple[bool, str]]) -> None:
        try:
            ok, detail = fn()
        except errors as exc:
            ok, detail = False, describe(exc)
        out.append(Check(component, subject, ok, detail))

    return check


# --- credentials, checked before anything calls a cloud ------------------------------------------------

EMPTY_HINT = "a pull request from a fork gets no secrets, and a workflow that names them sets them empty"


def empty_variable(names: tuple[str, ...], environ: Mapping[str, str] | None = None) -> str | None:
    """The first of `names` that is set but empty (or blank), as a sentence; None when there is none."""
    environ = os.environ if environ is None else environ
    for name in names:
        if name in environ and not environ[name].strip():
            return f"{name} is set but empty ({EMPTY_HINT})"
    return None


def missing_file(names: tuple[str, ...], environ: Mapping[str, str] | None = None) -> str | None:
    """The first of `names` that names a file that is not there, as a sentence; None when there is none.
    A variable may list several files (`os.pathsep`, as KUBECONFIG does): then none of them is there."""
    environ = os.environ if environ is None else environ
    for name in names:
        value = environ.get(name, "").strip()
        if value and not any(Path(p).expanduser().is_file() for p in value.split(os.pathsep) if p):
            return f"{name} names {value!r}, which is not a file"
    return None


def machine_vendor(path: str) -> str:
    """A line of the machine's DMI data (`/sys/class/dmi/id/<path>`), '' when unreadable: how the glue
    tells, without the network, whether it runs on a cloud machine whose metadata service may hold an
    identity."""
    try:
        return Path("/sys/class/dmi/id", path).read_text(errors="replace").strip()
    except OSError:
        return ""


# --- the glue's contract ----------------------------------------------------------------------------------


class Capability(enum.Enum):
    """An optional part of a cloud's glue; the value is the `Glue` method that provides it."""

    SWEEP_UNTRACKED = "sweep_untracked"  # objects with the environment's tags that its state lacks
    IMPORT_IDS = "import_ids"  # terraform import ids of objects an apply found already there


class Glue(ABC):
    """One cloud's glue (see the module's docstring). A subclass declares the optional methods it
    overrides in `capabilities`; defining one that overrides an undeclared optional method, or declares
    one it does not override, raises TypeError."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        wrong = [
            f"{cap.name} is declared but {cls.__name__}.{cap.value} is not defined"
            if cap in cls.capabilities
            else f"{cls.__name__}.{cap.value} is defined but {cap.name} is not in its capabilities"
            for cap in Capability
            if (cap in cls.capabilities) != (getattr(cls, cap.value) is not getattr(Glue, cap.value))
        ]
        if wrong:
            raise TypeError("; ".join(wrong))

    @property
    @abstractmethod
    def CREDENTIALS_HINT(self) -> str:  # a subclass sets a class attribute
        """How to give this cloud credentials (the hint under "no cloud credentials")."""

    @abstractmethod
    def credential_errors(self) -> tuple[type[Exception], ...]:
        """The SDK's "no credentials" errors (raised by the other methods); () when there are none."""

    @abstractmethod
    def credentials_problem(self) -> str | None:
        """What is wrong with the credentials the environment presents, without the network; or None."""

    @abstractmethod
    def bootstrap_state(self, env: ResolvedEnv, target: Target, report: Reporter) -> None:
        """Create the environment's state backend when it is missing."""

    @abstractmethod
    def delete_state(self, env: ResolvedEnv, target: Target, report: Reporter) -> None:
        """Remove the environment's state backend (local mode only, after a complete destroy)."""

    @abstractmethod
    def verify(self, env: ResolvedEnv, target: Target) -> list[Check]:
        """Read back what the blueprint promises."""

    @abstractmethod
    def rollout(
        self, env: ResolvedEnv, endpoint: str, image_tag: str, traffic: int, target: Target, artifact: str | None = None
    ) -> RolloutResult:
        """Give a new version of `endpoint`'s model `traffic` percent of its requests."""

    def cleanup_rollouts(self, env: ResolvedEnv, target: Target, report: Reporter) -> None:  # noqa: B027
        """Remove what rollouts created and Terraform does not know; by default there is nothing."""

    def sweep_untracked(
        self, env: ResolvedEnv, target: Target, state: dict | None, report: Reporter, backend: dict | None = None
    ) -> list[str]:
        """`Capability.SWEEP_UNTRACKED`: the objects with this environment's tags that its state (None
        once destroyed) does not hold; deleted on the emulator, listed on a cloud."""
        raise NotImplementedError(f"{type(self).__name__} does not declare {Capability.SWEEP_UNTRACKED.name}")

    def import_ids(self, doc: dict, addresses: list[str], env: ResolvedEnv, target: Target) -> dict[str, str | None]:
        """`Capability.IMPORT_IDS`: each address's terraform import id (None when it cannot be found)."""
        raise NotImplementedError(f"{type(self).__name__} does not declare {Capability.IMPORT_IDS.name}")


class ModuleGlue(Glue):
    """A glue whose parts are the functions (and `CREDENTIALS_HINT`) of the module that defines the
    subclass, looked up when called, so tests that patch a module function reach the glue too. A cloud's
    module then only says what is particular to it: its docstring, its capabilities and their methods."""

    CREDENTIALS_HINT: str = ""  # each subclass: its module's, as the class attribute the contract asks for

    def __init_subclass__(cls, **kwargs: object) -> None:
        # a cloud's glue class closes its module, so the module's hint is there already
        cls.CREDENTIALS_HINT = sys.modules[cls.__module__].CREDENTIALS_HINT
        super().__init_subclass__(**kwargs)

    def _part(self, name: str) -> Any:
        return getattr(sys.modules[type(self).__module__], name)

    def credential_errors(self) -> tuple[type[Exception], ...]:
        errors: tuple[type[Exception], ...] = self._part("credential_errors")()
        return errors

    def credentials_problem(self) -> str | None:
        problem: str | None = self._part("credentials_problem")()
        return problem

    def bootstrap_state(self, env: ResolvedEnv, target: Target, report: Reporter) -> None:
        self._part("bootstrap_state")(env, target, report)

    def delete_state(self, env: ResolvedEnv, target: Target, report: Reporter) -> None:
        self._part("delete_state")(env, target, report)

    def verify(self, env: ResolvedEnv, target: Target) -> list[Check]:
        checks: list[Check] = self._part("verify")(env, target)
        return checks

    def rollout(
        self, env: ResolvedEnv, endpoint: str, image_tag: str, traffic: int, target: Target, artifact: str | None = None
    ) -> RolloutResult:
        result: RolloutResult = self._part("rollout")(env, endpoint, image_tag, traffic, target, artifact)
        return result
