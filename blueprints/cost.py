"""An offline monthly cost estimate of a blueprint, per environment, at minimum and at maximum scale.

- Minimum scale: every pool at `min_nodes`, every endpoint at `min_replicas`, the storage assumption
  of the price file (100 GB per lake zone, 10 GB of images per model), and the fixed costs.
- Maximum scale: every pool at `max_nodes` and every endpoint at `max_replicas`, for all 730 hours.
- Pools are priced on-demand or, with `spot: true`, at the spot price; node disks count while nodes run.
- Fixed costs: what a platform pays while idle, from the price file's list per cloud (VPC interface
  endpoints instead of a NAT gateway, KMS keys, secrets, logs, the Kubernetes control plane, the
  catalog's crawler or account, registry storage, alarms), each tied to the component it comes with.

Prices come from one data file (`blueprints/prices.json`): per cloud and region class, on-demand and
spot, with its date and source. `scripts/refresh_prices.py` rewrites it from the clouds' public price
lists; nothing here calls the network. Everything cloud-specific is data: this module never compares
cloud names.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_blueprint.blueprints import registry, rules
from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.loader import LoadedBlueprint, ResolvedEnv
from mlops_blueprint.blueprints.model import Blueprint

PRICES = Path(__file__).resolve().parent / "prices.json"


class PriceMissing(UserError):
    """The price file has no price for a machine type the blueprint uses (exit 2)."""


@functools.cache
def price_book(path: str | None = None) -> dict[str, Any]:
    """The price file (parsed once)."""
    return json.loads(Path(path or PRICES).read_text())


@dataclass(frozen=True)
class Line:
    """One priced item: `quantity` units at `unit_price` (USD per unit per month) at each scale."""

    component: str  # baseline | data_lake | catalog | training | registry | serving | monitoring
    item: str
    unit_price: float
    min_quantity: float
    max_quantity: float

    @property
    def min_usd(self) -> float:
        return round(self.unit_price * self.min_quantity, 2)

    @property
    def max_usd(self) -> float:
        return round(self.unit_price * self.max_quantity, 2)


@dataclass(frozen=True)
class Estimate:
    """One environment's monthly estimate (USD)."""

    env: str
    cloud: str
    region: str
    region_class: str
    lines: tuple[Line, ...]
    budget_usd: int
    alert_at_percent: int
    price_date: str
    notes: tuple[str, ...] = field(default=())
    # Owned capacity (on-prem): no cloud bill, so no budget either; the budget fields are not reported.
    owned: bool = False

    @property
    def min_usd(self) -> float:
        return round(sum(x.min_usd for x in self.lines), 2)

    @property
    def max_usd(self) -> float:
        return round(sum(x.max_usd for x in self.lines), 2)

    @property
    def fail_above_usd(self) -> float:
        """Above this estimated minimum, MLOPS_BP_007 fails: the budget plus its alert percentage."""
        return round(self.budget_usd * (1 + self.alert_at_percent / 100), 2)

    @property
    def budget_status(self) -> str:
        """ok | warn (minimum above the budget) | fail (above the budget by more than alert_at_percent) |
        none (owned capacity: there is no budget to hold it to)."""
        if self.owned:
            return "none"
        if self.min_usd > self.fail_above_usd:
            return "fail"
        return "warn" if self.min_usd > self.budget_usd else "ok"

    def by_component(self) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for x in self.lines:
            lo, hi = out.get(x.component, (0.0, 0.0))
            out[x.component] = (round(lo + x.min_usd, 2), round(hi + x.max_usd, 2))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "cloud": self.cloud,
            "region": self.region,
            "region_class": self.region_class,
            "min_usd": self.min_usd,
            "max_usd": self.max_usd,
            "budget_usd": None if self.owned else self.budget_usd,
            "budget_status": self.budget_status,
            "price_date": self.price_date,
            "components": {k: {"min_usd": lo, "max_usd": hi} for k, (lo, hi) in self.by_component().items()},
            "lines": [
                {
                    "component": x.component,
                    "item": x.item,
                    "unit_price": x.unit_price,
                    "min_quantity": x.min_quantity,
                    "max_quantity": x.max_quantity,
                    "min_usd": x.min_usd,
                    "max_usd": x.max_usd,
                }
                for x in self.lines
            ],
            "notes": list(self.notes),
        }


def owned(cloud: str, book: Mapping[str, Any] | None = None) -> bool:
    """The cloud's capacity is owned (on-prem): no bill to estimate, no budget to hold it to, no spot market."""
    book = book or price_book()
    return any(table.get("owned") for table in book["prices"].get(cloud, {}).values())


def has_spot(cloud: str, book: Mapping[str, Any] | None = None) -> bool:
    """Whether `spot: true` asks the cloud for anything (owned capacity has no spot market)."""
    return not owned(cloud, book)


def region_class(cloud: str, region: str, book: Mapping[str, Any] | None = None) -> str:
    book = book or price_book()
    for cls, regions in book["region_classes"].get(cloud, {}).items():
        if region in regions:
            return cls
    raise PriceMissing(
        f"the price file has no region class for {cloud} region {region!r}; run scripts/refresh_prices.py"
    )


def estimate(bp: Blueprint, env: str, book: Mapping[str, Any] | None = None) -> Estimate:
    """The monthly estimate of one resolved environment's blueprint (`ResolvedEnv.blueprint`)."""
    book = book or price_book()
    cloud_name, region = bp.target.cloud, bp.target.region
    cloud = registry.get(cloud_name)
    cls = region_class(cloud_name, region, book)
    table = book["prices"][cloud_name][cls]
    hours = book["hours_per_month"]
    storage = book["storage_assumption"]
    c = bp.components
    lines: list[Line] = []
    notes: list[str] = []
    if table.get("owned"):
        notes.append(
            "on-prem: the cluster is owned: no cloud bill is estimated and no budget applies (quotas are the limit)"
        )

    def instance_price(kind: str, machine: str, spot: bool = False) -> float:
        entry = table[kind].get(machine)
        if entry is None:
            if table.get("owned"):
                return 0.0
            raise PriceMissing(
                f"the price file ({book['date']}) has no {kind} price for {cloud_name} {machine} in class {cls}; "
                "add it or run scripts/refresh_prices.py"
            )
        if isinstance(entry, dict):
            return entry["spot" if spot else "on_demand"]
        return float(entry)

    counts = {
        None: 1,
        "network_zones": bp.baseline.network.zones,
        "databases": len(c.catalog.databases) if c.catalog else 0,
        "endpoints": len(c.serving.endpoints) if c.serving else 0,
        "pools": len(c.training.pools) if c.training else 0,
        "models": len(c.registry.models) if c.registry else 0,
        "lake_zones": len(c.data_lake.zones) if c.data_lake else 0,
    }
    present = {"baseline": True, **{k: getattr(c, k) is not None for k in type(c).model_fields}}
    # A fixed item with `when` counts only under that condition: the cluster's support choice, and whether
    # its version is past standard support today (where the cloud bills extended support by the phase).
    support = c.training.kubernetes_support if c.training else "standard"
    phase = cloud.catalog.support_phase(c.training.kubernetes_version, rules.today()) if c.training else None
    conditions = {
        "standard_support": support == "standard",
        "extended_support": support == "extended",
        "in_extended_support": support == "extended" and phase == "extended",
    }
    for fx in table["fixed"]:
        if not present.get(fx["component"], False) or ("when" in fx and not conditions[fx["when"]]):
            continue
        qty = fx["count"] * counts[fx.get("multiply_by")] * (hours if fx["unit"] == "hour" else 1)
        if qty:
            lines.append(Line(fx["component"], fx["item"], fx["price"], qty, qty))

    gb = table["storage_gb_month"]
    if c.data_lake:
        qty = storage["lake_gb_per_zone"] * len(c.data_lake.zones)
        lines.append(
            Line("data_lake", f"lake storage ({len(c.data_lake.zones)} zones x 100 GB assumed)", gb["lake"], qty, qty)
        )
    if c.registry:
        qty = storage["image_gb_per_model"] * len(c.registry.models)
        lines.append(
            Line("registry", f"image storage ({len(c.registry.models)} models x 10 GB assumed)", gb["images"], qty, qty)
        )
    if c.training:
        for name, pool in c.training.pools.items():
            machine = cloud.catalog.training_instance(pool.accelerator, pool.gpus_per_node) or ""
            price = instance_price("compute", machine, pool.spot)
            kind = "spot" if pool.spot else "on-demand"
            lines.append(
                Line(
                    "training",
                    f"pool {name}: {machine} {kind} x {pool.min_nodes}-{pool.max_nodes} nodes",
                    round(price * hours, 4),
                    pool.min_nodes,
                    pool.max_nodes,
                )
            )
            if gb["node_disk"]:
                lines.append(
                    Line(
                        "training",
                        f"pool {name}: node disks ({pool.disk_gb} GB each)",
                        round(gb["node_disk"] * pool.disk_gb, 4),
                        pool.min_nodes,
                        pool.max_nodes,
                    )
                )
    if c.serving:
        for name, ep in c.serving.endpoints.items():
            machine = cloud.catalog.serving_instance(ep.size) or ""
            price = instance_price("serving", machine)
            lines.append(
                Line(
                    "serving",
                    f"endpoint {name}: {machine} x {ep.min_replicas}-{ep.max_replicas} replicas",
                    round(price * hours, 4),
                    ep.min_replicas,
                    ep.max_replicas,
                )
            )
    return Estimate(
        env=env,
        cloud=cloud_name,
        region=region,
        region_class=cls,
        lines=tuple(lines),
        budget_usd=bp.baseline.budget.monthly_limit_usd,
        alert_at_percent=bp.baseline.budget.alert_at_percent,
        price_date=book["date"],
        notes=tuple(notes),
        owned=bool(table.get("owned")),
    )


def estimate_env(e: ResolvedEnv, book: Mapping[str, Any] | None = None) -> Estimate:
    return estimate(e.blueprint, e.name, book)


def estimate_blueprint(loaded: LoadedBlueprint, env: str | None = None) -> dict[str, Estimate]:
    """Every selected environment's estimate, by environment name."""
    return {e.name: estimate_env(e) for e in loaded.select(env)}


def usd(value: float) -> str:
    return f"{value:,.0f}"


def range_text(estimates: Mapping[str, Estimate]) -> str:
    """The whole blueprint's monthly range: every environment at minimum scale to every one at maximum."""
    if not estimates:
        return "-"
    lo = sum(x.min_usd for x in estimates.values())
    hi = sum(x.max_usd for x in estimates.values())
    return f"{usd(lo)}-{usd(hi)}"
