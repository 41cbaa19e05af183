"""Rules that need the whole document or a cloud's catalog.

Each rule yields `(path, message)`, where path is the dotted field path the
problem is about; the loader turns it into file:line:col. These are validation
rules (is the blueprint meaningful and buildable?), not policies (is it allowed?):
policies live in `policies/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.model import PERSONAS, Blueprint
from mlops_blueprint.blueprints.naming import NameRuleError
from mlops_blueprint.blueprints.neutral import MIG_PROFILES
from mlops_blueprint.blueprints.text import echo

Path = tuple[str | int, ...]
Problem = tuple[Path, str]


def check(bp: Blueprint, env: str | None) -> list[Problem]:
    out: list[Problem] = []
    for rule in (
        _target,
        _kubernetes,
        _state,
        _lake,
        _catalog,
        _training,
        _serving,
        _access,
        _names,
        _waivers,
        _cloud,
    ):
        out.extend(rule(bp, env))
    return out


def warnings(bp: Blueprint) -> list[Problem]:
    """What is allowed but should change: (path, message), shown by `validate` and every command."""
    out: list[Problem] = []
    if bp.state.lock_table is not None:
        out.append(
            (
                ("state", "lock_table"),
                (
                    "DynamoDB state locking is deprecated since Terraform 1.10: new environments lock with the S3 lockfile "
                    "(use_lockfile). To migrate: deploy once with both (the stack keeps the table while state.lock_table is "
                    "set), then remove state.lock_table, run `plan` to confirm, and delete the table"
                ),
            )
        )
    out.extend(_kubernetes_warnings(bp))
    out.extend(_placeholders(bp))
    return out


def _placeholders(bp: Blueprint) -> Iterator[Problem]:
    """The placeholders `init` wrote (blueprints/placeholders.py), until they are replaced."""
    from mlops_blueprint.blueprints import placeholders

    fields = dict(registry.get(bp.target.cloud).target_fields)
    for path, value in placeholders.found(bp.model_dump(mode="json", exclude_defaults=True)):
        yield path, placeholders.message(path, echo(value), fields)


def today() -> date:
    """The day support windows are judged on (UTC). Tests replace it to pin the calendar."""
    return datetime.now(UTC).date()


def _cluster_version(bp: Blueprint) -> tuple[Path, str] | None:
    """The Kubernetes version the blueprint runs on and the field that names it: the existing cluster's
    (`target.kubernetes_version`) when the target names one, else the version training's cluster is
    created with."""
    if bp.target.kubernetes_version is not None:
        return ("target", "kubernetes_version"), bp.target.kubernetes_version
    training = bp.components.training
    # An omitted version is the model's default: tests keep that one in standard support on every cloud
    # (tests/blueprints/test_kubernetes_versions.py), so only a version the author wrote is judged here.
    if training is not None and "kubernetes_version" in training.model_fields_set:
        return ("components", "training", "kubernetes_version"), training.kubernetes_version
    return None


def _past(day: date, iso: str) -> bool:
    return bool(iso) and day > date.fromisoformat(iso)


def _live(catalog: registry.Catalog, day: date) -> list[str]:
    """Versions not yet past extended support on `day`, in catalog order."""
    return [v for v, r in catalog.kubernetes_support.items() if not _past(day, r.extended_end)]


def _source(catalog: registry.Catalog) -> str:
    return f"support table reviewed {catalog.kubernetes_reviewed} from {catalog.kubernetes_source}"


def _builds_cluster(path: Path) -> bool:
    """The platform creates the cluster (training's version), so it chooses the support it runs under;
    an existing cluster's version (`target.kubernetes_version`) is judged but not chosen."""
    return path[0] == "components"


def _extended(bp: Blueprint) -> bool:
    training = bp.components.training
    return training is not None and training.kubernetes_support == "extended"


def _in_standard(catalog: registry.Catalog, day: date) -> str:
    return ", ".join(v for v, r in catalog.kubernetes_support.items() if not _past(day, r.standard_end)) or "none"


def _kubernetes(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    """A version the cloud does not offer, one past its extended support, one past standard support
    on a cluster the platform builds without `kubernetes_support: extended`, and that opt-in where the
    platform builds no cluster."""
    cloud, found = registry.get(bp.target.cloud), _cluster_version(bp)
    training = bp.components.training
    if bp.target.kubernetes_version is not None and training and "kubernetes_support" in training.model_fields_set:
        yield (
            ("components", "training", "kubernetes_support"),
            (
                "the cluster exists already (target.kubernetes_version): its support is its distribution's, "
                "not the platform's to choose; remove kubernetes_support"
            ),
        )
    table = cloud.catalog.kubernetes_support
    if found is None or not table:
        return
    path, version = found
    day, release = today(), table.get(version)
    allowed = ", ".join(_live(cloud.catalog, day)) or "none (the table is out of date)"
    phase = cloud.catalog.support_phase(version, day)
    if release is None:
        yield (
            path,
            (
                f"Kubernetes {version} is not a version {cloud.title} supports; allowed: {allowed} "
                f"({_source(cloud.catalog)})"
            ),
        )
    elif phase == "ended":
        late = release.extended_end != release.standard_end
        yield (
            path,
            (
                f"Kubernetes {version} on {cloud.title} reached the end of {'extended' if late else 'its'} support on "
                f"{release.extended_end}{' (an estimate)' if release.estimate else ''}; allowed: {allowed} "
                f"({_source(cloud.catalog)})"
            ),
        )
    elif phase == "extended" and _builds_cluster(path) and not _extended(bp):
        yield (
            path,
            (
                f"Kubernetes {version} on {cloud.title} left standard support on {release.standard_end}: to stay "
                f"on it set components.training.kubernetes_support: extended ({cloud.catalog.extended_support_cost}); "
                f"in standard support: {_in_standard(cloud.catalog, day)} ({_source(cloud.catalog)})"
            ),
        )


def _kubernetes_warnings(bp: Blueprint) -> Iterator[Problem]:
    """A version past standard support but still in extended support, where that is allowed (opted in,
    or an existing cluster): it works, and costs extra."""
    cloud, found = registry.get(bp.target.cloud), _cluster_version(bp)
    catalog = cloud.catalog
    if found is None or catalog.support_phase(found[1], today()) != "extended":
        return
    path, version = found
    if _builds_cluster(path) and not _extended(bp):
        return  # an error (`_kubernetes`)
    day, release = today(), catalog.kubernetes_support[version]
    until = f"until {release.extended_end}" if release.extended_end else "for as long as your vendor supports it"
    standard = [
        f"{v} until {r.standard_end}" for v, r in catalog.kubernetes_support.items() if not _past(day, r.standard_end)
    ]
    upgrade = f"; in standard support: {', '.join(standard)}" if standard else ""
    note = " (dates are estimates)" if release.estimate else ""
    yield (
        path,
        (
            f"Kubernetes {version} left standard support on {release.standard_end} and is in extended support "
            f"{until}{note}: {catalog.extended_support_cost}{upgrade} ({_source(catalog)})"
        ),
    )


def _cloud(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    """What only the target cloud checks (its registry entry's `checks`)."""
    checks = registry.get(bp.target.cloud).checks
    if checks is not None:
        yield from checks(bp)


def _target(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    cloud = registry.get(bp.target.cloud)
    name, region = cloud.name, bp.target.region
    if region not in cloud.catalog.regions:
        yield (
            ("target", "region"),
            f"region {echo(region)} is not supported for {name}; allowed: {', '.join(cloud.catalog.regions)}",
        )
    for field in cloud.required_target_fields:
        if getattr(bp.target, field) is None:
            yield (
                ("target",),
                (f"target.{field} is required when target.cloud is {name} ({cloud.target_fields[field]})"),
            )
    for other in registry.every():
        for field in other.target_fields:
            if other is not cloud and getattr(bp.target, field, None) is not None:
                yield (
                    ("target", field),
                    f"target.{field} belongs to {other.name}, not {name}; remove it when retargeting",
                )
    for i, r in enumerate(bp.policies.allowed_regions):
        if registry.region_owner(r) is None:
            known = "; ".join(f"{c.name}: {', '.join(c.catalog.regions)}" for c in registry.every())
            yield (
                ("policies", "allowed_regions", i),
                f"{echo(r)} is not a region of any supported cloud; known: {known}",
            )


def _state(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    cloud, backend = bp.target.cloud, bp.state.backend
    native = registry.get(cloud).catalog.state_backend
    if backend not in (None, "local", native):
        yield (
            ("state", "backend"),
            (
                f"state backend {backend!r} does not belong to {cloud}; use {native!r} or "
                "omit state.backend (it follows target.cloud)"
            ),
        )
    if bp.state.lock_table is not None and bp.state.backend_for(cloud) != "s3":
        yield (
            ("state", "lock_table"),
            f"state.lock_table is for the s3 backend only; {bp.state.backend_for(cloud)} locks by itself",
        )


def _lake(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    lake = bp.components.data_lake
    if lake is None:
        return
    for zone in lake.retention_days:
        if zone not in lake.zones:
            yield (
                ("components", "data_lake", "retention_days", zone),
                f"zone {echo(zone)} is not in data_lake.zones ({', '.join(lake.zones)})",
            )
    for i, zone in enumerate(lake.engineering_zones):
        if zone not in lake.zones and "engineering_zones" in lake.model_fields_set:
            yield (
                ("components", "data_lake", "engineering_zones", i),
                f"zone {echo(zone)} is not in data_lake.zones ({', '.join(lake.zones)})",
            )


def _catalog(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    cat = bp.components.catalog
    if cat is None:
        return
    zones = bp.components.data_lake.zones if bp.components.data_lake else []
    for db, spec in cat.databases.items():
        for i, zone in enumerate(spec.zones):
            if zone not in zones:
                allowed = ", ".join(zones) or "none: declare components.data_lake first"
                yield (
                    ("components", "catalog", "databases", db, "zones", i),
                    f"zone {echo(zone)} is not a lake zone; allowed: {allowed}",
                )


def _training(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    tr = bp.components.training
    if tr is None:
        return
    cloud = bp.target.cloud
    catalog = registry.get(cloud).catalog
    table = catalog.training
    for name, pool in tr.pools.items():
        base = ("components", "training", "pools", name)
        if pool.min_nodes > pool.max_nodes:
            yield (
                base + ("min_nodes",),
                f"min_nodes ({pool.min_nodes}) is greater than max_nodes ({pool.max_nodes}); min_nodes must be <= max_nodes",
            )
        if pool.accelerator not in table:
            near = catalog.nearest.get(pool.accelerator)
            hint = f" (the nearest is {near})" if near else ""
            yield (
                base + ("accelerator",),
                f"accelerator {pool.accelerator!r} is not available on {cloud}{hint}; allowed: {', '.join(table)}",
            )
            continue
        if pool.gpus_per_node not in table[pool.accelerator]:
            counts = ", ".join(str(n) for n in table[pool.accelerator])
            yield (
                base + ("gpus_per_node",),
                f"{pool.accelerator} on {cloud} comes with {counts} accelerators per node, not {pool.gpus_per_node}",
            )
        yield from _sharing(base, pool, cloud, catalog)
        regions = catalog.regions_for(pool.accelerator)
        if regions is not None and bp.target.region in catalog.regions and bp.target.region not in regions:
            yield (
                base + ("accelerator",),
                (
                    f"accelerator {pool.accelerator!r} is not offered in {cloud} region "
                    f"{bp.target.region}; regions that have it: {', '.join(regions)}"
                ),
            )


def _sharing(base: Path, pool, cloud: str, catalog) -> Iterator[Problem]:
    sh, at = pool.sharing, base + ("sharing",)
    if sh.mode not in catalog.sharing_modes:
        note = f" ({catalog.sharing_note})" if catalog.sharing_note else ""
        yield (
            at + ("mode",),
            (f"GPU sharing {sh.mode!r} is not available on {cloud}{note}; allowed: {', '.join(catalog.sharing_modes)}"),
        )
        return
    if sh.mode == "time-slicing" and sh.replicas is None:
        yield at, "time-slicing needs replicas: how many pods share each GPU (2 to 48)"
    if sh.mode != "time-slicing" and sh.replicas is not None:
        yield at + ("replicas",), f"replicas is for time-slicing; this pool's sharing mode is {sh.mode!r}"
    if sh.mode == "mig":
        profiles = MIG_PROFILES.get(pool.accelerator)
        if profiles is None:
            yield (
                at + ("mode",),
                (
                    f"{pool.accelerator} cannot be partitioned with MIG (only "
                    f"{', '.join(MIG_PROFILES)} can); use time-slicing or none"
                ),
            )
        elif sh.profile is None:
            yield at, f"mig needs a profile; {pool.accelerator} offers: {', '.join(profiles)}"
        elif sh.profile not in profiles:
            yield (
                at + ("profile",),
                f"MIG profile {echo(sh.profile)} does not exist on {pool.accelerator}; allowed: {', '.join(profiles)}",
            )
    elif sh.profile is not None:
        yield at + ("profile",), f"profile is for mig; this pool's sharing mode is {sh.mode!r}"


def _serving(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    sv = bp.components.serving
    if sv is None:
        return
    models = bp.components.registry.models if bp.components.registry else []
    table = registry.get(bp.target.cloud).catalog.serving
    for name, ep in sv.endpoints.items():
        base = ("components", "serving", "endpoints", name)
        if ep.model not in models:
            allowed = ", ".join(models) or "none: declare components.registry.models first"
            yield base + ("model",), f"model {echo(ep.model)} is not in the registry; allowed: {allowed}"
        if ep.min_replicas > ep.max_replicas:
            yield (
                base + ("min_replicas",),
                f"min_replicas ({ep.min_replicas}) is greater than max_replicas ({ep.max_replicas})",
            )
        if table is not None and ep.size not in table:
            yield (
                base + ("size",),
                f"size {ep.size!r} is not available on {bp.target.cloud}; allowed: {', '.join(table)}",
            )


def _access(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    lake = bp.components.data_lake
    zones = lake.zones if lake else []
    engineering = set(lake.engineering_zones) if lake else set()
    for persona in PERSONAS:
        if persona not in bp.access.model_fields_set:
            continue  # defaults name the standard zones; they are filtered to the lake's zones at build time
        spec = getattr(bp.access, persona)
        for mode in ("read", "write"):
            for i, zone in enumerate(getattr(spec.lake, mode)):
                if zone not in zones:
                    yield (
                        ("access", persona, "lake", mode, i),
                        f"zone {echo(zone)} is not a lake zone; allowed: {', '.join(zones) or 'none'}",
                    )
                elif mode == "write" and zone in engineering and persona != "data_engineers":
                    yield (
                        ("access", persona, "lake", mode, i),
                        (
                            f"only data_engineers may write engineering zone {echo(zone)} (DataOps/MLOps separation); "
                            "remove it or drop it from data_lake.engineering_zones"
                        ),
                    )
    if bp.access.app_consumers.registry != "none" or bp.access.app_consumers.lake.write:
        yield ("access", "app_consumers"), "app_consumers may only invoke endpoints (serving: invoke)"


def _names(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    """Every name the modules will make must satisfy the cloud's rules."""
    cloud = registry.get(bp.target.cloud)
    for e in [env] if env else list(bp.environments):
        for path, make in cloud.name_checks(bp, cloud.names(bp.metadata.name, e)):
            try:
                make()
            except NameRuleError as exc:
                yield path, f"{exc} (environment {echo(e)})"


def _waivers(bp: Blueprint, env: str | None) -> Iterator[Problem]:
    seen: set[tuple[str, str]] = set()
    for i, w in enumerate(bp.policies.waivers):
        key = (w.check, w.resource)
        if key in seen:
            yield ("policies", "waivers", i), f"duplicate waiver for {echo(w.check)} on {echo(w.resource)}"
        seen.add(key)
