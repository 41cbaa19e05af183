"""SDK glue: what Terraform cannot do, per cloud (`scripts/glue/<cloud>.py`).

Every cloud's glue module offers the same functions, which the pipeline reaches through the
registry (`registry.get(cloud).load("glue")`):

- `bootstrap_state(env, target, report)`: create the environment's state backend when missing;
- `delete_state(env, target, report)`: remove it (local mode only, after a complete destroy);
- `cleanup_rollouts(env, target, report)`: before (and after) `down`'s destroy, remove what rollouts
  created and Terraform does not know (on AWS: model versions, rollout models and endpoint configurations);
- `verify(env, target) -> list[Check]`: read back what the blueprint promises;
- `rollout(env, endpoint, image_tag, traffic, target, artifact) -> RolloutResult`;
- `credential_errors() -> tuple[type[Exception], ...]` and `CREDENTIALS_HINT`: the SDK's "no
  credentials" errors, which the pipeline turns into a plain message and exit 3;
- `credentials_problem() -> str | None`: what is wrong with the credentials the environment presents,
  found without the network (a variable set but empty, as in a fork's pull request; a profile or a
  file that does not exist; no source at all), or None. The pipeline asks it before plan, up, down,
  verify, rollout, drift and outputs touch the cloud, and stops with the plain message and exit 3.

The shared types live here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

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
