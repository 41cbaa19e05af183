"""Blueprint selection for architects: the reference catalog, side-by-side comparison, and `init`.

- `entries()`: every reference blueprint with its tier, purpose, target cloud and the clouds it
  retargets to cleanly (the target line swapped for a placeholder one of that cloud, then validated),
  components, environments, the estimated monthly range (`blueprints/cost.py`) and its policy packs.
- `compare(a, b)`: two blueprints field by field, grouped by section, with their costs.
- `init(dest, ref, cloud, name)`: a new blueprint from a reference, with the schema modeline,
  retargeted and renamed, validated in a temporary file before it is moved into place; an existing
  file is never overwritten.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_blueprint.blueprints import cost, placeholders, registry, rules
from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.loader import BlueprintError, LoadedBlueprint, load, loads
from mlops_blueprint.blueprints.text import echo

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = ROOT / "blueprints" / "reference"
SCHEMA = ROOT / "blueprints" / "blueprint.schema.json"
MODELINE = "# yaml-language-server: $schema="
TIERS = ("tactical", "strategic", "transformational")

# A placeholder per target field that validates and that `validate` flags until it is replaced (by field
# name: the registry says which cloud needs which). The Kubernetes version is a real one: see `_kubernetes`.
PLACEHOLDERS: dict[str, Any] = dict(placeholders.TARGET)
# The target fields that name the reference's own account, project, subscription, network or cluster:
# `init` replaces them even when it does not retarget.
IDENTITY = ("account_id", "project_id", "billing_account", "subscription_id", "runner_network", "kube_context")
NODE_LABELS = "gpu_node_labels"  # a target field whose placeholder depends on the pools' accelerators


class NotAReference(UserError):
    """A name that is neither a reference blueprint nor a file (exit 2)."""


class WontOverwrite(UserError):
    """`init` never overwrites an existing file (exit 2)."""


class RetargetInvalid(UserError):
    """The retargeted blueprint does not validate; nothing was written (exit 2)."""


def references() -> list[Path]:
    return sorted(REFERENCE_DIR.glob("*.yaml"))


def resolve(ref: str | Path) -> Path:
    """A reference by its name (`starter`) or any blueprint file by its path."""
    for p in (Path(ref), REFERENCE_DIR / f"{ref}.yaml"):
        try:
            if p.is_file():
                return p
        except OSError:  # a name too long for a path, or one the system refuses: not a file
            continue
    names = ", ".join(x.stem for x in references())
    raise NotAReference(f"{echo(str(ref))} is neither a file nor a reference blueprint; the references are: {names}")


# --- retargeting (text in, text out: comments and layout survive) ---------------------------------


def _flow(mapping: dict[str, Any]) -> str:
    def val(v: Any) -> str:
        if isinstance(v, dict):
            return _flow(v)
        s = str(v)
        return f'"{s}"' if re.fullmatch(r"[0-9.]+", s) or ":" in s else s

    return "{" + ", ".join(f"{k}: {val(v)}" for k, v in mapping.items()) + "}"


def target_for(cloud: str, loaded: LoadedBlueprint) -> tuple[str, str]:
    """(the placeholder `target:` line for `cloud`, the comment saying what to replace).

    The region keeps the source region's class (an EU blueprint stays in the EU): the first region of
    that class in the price file. Required target fields get a placeholder that validates."""
    base = loaded.base
    c = registry.get(cloud)
    book = cost.price_book()
    classes = book["region_classes"].get(cloud, {})
    try:
        cls = cost.region_class(base.target.cloud, base.target.region)
    except cost.PriceMissing:
        cls = ""
    region = classes.get(cls, next(iter(classes.values()), [c.catalog.regions[0]]))[0]
    if cloud == base.target.cloud:
        region = base.target.region
    fields: dict[str, Any] = {"cloud": cloud, "region": region}
    fields.update({f: PLACEHOLDERS[f] for f in c.required_target_fields if f in PLACEHOLDERS})
    if "kubernetes_version" in c.required_target_fields:
        fields["kubernetes_version"] = _kubernetes(c)
    pools = base.components.training.pools if base.components.training else {}
    if NODE_LABELS in c.target_fields and pools:  # every pool's accelerator needs node labels on a cluster
        accs = dict.fromkeys(p.accelerator for p in pools.values())
        fields[NODE_LABELS] = {a: {"nvidia.com/gpu.product": f"REPLACE-ME-{a.upper()}"} for a in accs}
    placed = [f for f in fields if f not in ("cloud", "region")]
    if placed:
        what = "; ".join(f"{f}: {c.target_fields.get(f, f)}" for f in placed)
        comment = f"# replace the placeholders ({what}); check the region"
    else:
        optional = "; ".join(f"{f}: {d}" for f, d in c.target_fields.items())
        comment = f"# replace: check the region; optional fields: {optional}"
    return f"target: {_flow(fields)}", comment


def _kubernetes(c: registry.Cloud) -> str:
    """A cluster version that validates without a warning today: the newest in standard support (the
    user's cluster decides; the `# replace` comment says so)."""
    day = rules.today()
    standard = [v for v in c.catalog.kubernetes_support if c.catalog.support_phase(v, day) == "standard"]
    known = standard or list(c.catalog.kubernetes_versions) or ["1.33"]
    return max(known, key=lambda v: tuple(int(x) for x in v.split(".")))


SPOT = re.compile(
    r"(,\s*spot:\s*(?:true|yes|on)\b)|(\bspot:\s*(?:true|yes|on)\s*,\s*)|(^[ \t]+spot:\s*(?:true|yes|on)[ \t]*\n)", re.M
)


def _without_spot(text: str, cloud: str) -> str:
    """`spot: true` dropped where the target has no spot capacity to ask for (owned, on-prem)."""
    return text if cost.has_spot(cloud) else SPOT.sub("", text)


def _token(value: str) -> re.Pattern[str]:
    """`value` as a whole YAML scalar: not part of a longer name, address or path."""
    return re.compile(r"(?<![\w.@/-])(['\"]?)" + re.escape(value) + r"\1(?![\w@/-])")


def _quoted(placeholder: str) -> Callable[[re.Match[str]], str]:
    """A replacement that keeps the value's quotes (a `_token` match's group 1)."""
    return lambda m: m.group(1) + placeholder + m.group(1)


def _own_values(text: str, loaded: LoadedBlueprint) -> str:
    """The reference's own organization out, placeholders in (blueprints/placeholders.py): the owner and
    cost center, the alert recipients, and the ids of its account, project, subscription, network and
    cluster (the base target's and every environment's override of them). `validate` flags each
    placeholder at its line until it is replaced."""
    bp = loaded.base
    text = re.sub(r"(?ms)(^metadata:.*?\bowner:\s*)(['\"]?)[^\s,}'\"]+\2", rf"\g<1>{placeholders.OWNER}", text, count=1)
    text = re.sub(
        r"(?ms)(^metadata:.*?\bcost_center:\s*)(['\"]?)[^\n,}'\"]*[^\s,}'\"]\2",
        rf"\g<1>{placeholders.COST_CENTER}",
        text,
        count=1,
    )

    def notify(m: re.Match[str]) -> str:  # every address of a `notify:` list (flow or block), each its own
        n = iter(range(1, 1000))
        return re.sub(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+", lambda _: placeholders.notify(next(n)), m.group(0))

    text = re.sub(r"\bnotify:[ \t]*(\[[^\]]*\]|\n(?:[ \t]+-[^\n]*\n)+)", notify, text)
    values: dict[str, str] = {}
    for field in IDENTITY:
        own = getattr(bp.target, field, None)
        if own:
            values[str(own)] = placeholders.TARGET[field]
        for e in loaded.data.get("environments", {}).values() if isinstance(loaded.data, dict) else ():
            override = ((e or {}).get("overrides") or {}).get(f"target.{field}")
            if isinstance(override, str) and override:
                values[override] = placeholders.TARGET[field]
    for own, placeholder in sorted(values.items(), key=lambda kv: -len(kv[0])):  # a network id before its GUID
        text = _token(own).sub(_quoted(placeholder), text)
    return text


def _swap_target(text: str, line: str, comment: str, cloud: str) -> str:
    lines = text.splitlines()
    i = next((k for k, x in enumerate(lines) if x.startswith("target:")), None)
    if i is None:
        raise RetargetInvalid("the blueprint has no top-level target: line to retarget")
    j = i + 1
    while j < len(lines) and lines[j].startswith((" ", "\t")):
        j += 1
    while i > 0 and lines[i - 1].startswith("# replace"):  # an earlier retarget's comment
        i -= 1
    lines[i:j] = [comment, line]
    # Overrides of target fields the new cloud does not have (project_id on AWS, ...) are dropped.
    fields = set(registry.get(cloud).target_fields) | {"region"}
    kept = [x for x in lines if not ((m := re.match(r"^\s+target\.(\w+):", x)) and m.group(1) not in fields)]
    out: list[str] = []
    for k, x in enumerate(kept):  # an `overrides:` left with no entries becomes {}
        nxt = kept[k + 1] if k + 1 < len(kept) else ""
        indent = len(x) - len(x.lstrip())
        if x.rstrip().endswith("overrides:") and (len(nxt) - len(nxt.lstrip()) <= indent or not nxt.strip()):
            x = x.rstrip() + " {}"
        out.append(x)
    return "\n".join(out) + "\n"


def _rename(text: str, name: str) -> str:
    new, n = re.subn(r"(?ms)(^metadata:.*?\bname:\s*)([a-z0-9-]+)", rf"\g<1>{name}", text, count=1)
    if not n:
        raise RetargetInvalid("the blueprint has no metadata.name to rename")
    return new


def _modeline(text: str, dest: Path) -> str:
    rel = os.path.relpath(SCHEMA, Path(dest).resolve().parent)
    lines = text.splitlines()
    if lines and lines[0].startswith(MODELINE):
        lines = lines[1:]
    return "\n".join([MODELINE + rel, *lines]) + "\n"


def retarget_text(text: str, loaded: LoadedBlueprint, cloud: str | None) -> str:
    if cloud is None:
        return text
    line, comment = target_for(cloud, loaded)
    return _swap_target(text, line, comment, cloud)


def retargets(path: Path, loaded: LoadedBlueprint | None = None) -> dict[str, str]:
    """cloud -> "" when the target-line swap validates, else the first problem (a cloud's own target: "")."""
    loaded = loaded or load(path)
    text = path.read_text()
    out: dict[str, str] = {}
    for cloud in registry.NAMES:
        if cloud == loaded.base.target.cloud:
            out[cloud] = ""
            continue
        try:
            loads(retarget_text(text, loaded, cloud), name=str(path))
            out[cloud] = ""
        except BlueprintError as exc:
            out[cloud] = str(exc).splitlines()[0]
    return out


# --- the catalog ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    ref: str
    name: str
    tier: str
    purpose: str
    cloud: str
    clean_clouds: tuple[str, ...]  # the target first, then those it retargets to cleanly
    components: tuple[str, ...]
    environments: tuple[str, ...]
    min_usd: float
    max_usd: float
    packs: tuple[str, ...]

    @property
    def cost_range(self) -> str:
        return f"{cost.usd(self.min_usd)}-{cost.usd(self.max_usd)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "name": self.name,
            "tier": self.tier,
            "purpose": self.purpose,
            "cloud": self.cloud,
            "clouds": list(self.clean_clouds),
            "components": list(self.components),
            "environments": list(self.environments),
            "monthly_usd": {"min": self.min_usd, "max": self.max_usd},
            "packs": list(self.packs),
        }


def entry(path: Path) -> Entry:
    loaded = load(path)
    bp = loaded.base
    est = cost.estimate_blueprint(loaded)
    clean = retargets(path, loaded)
    clouds = (bp.target.cloud, *(c for c, why in clean.items() if not why and c != bp.target.cloud))
    comps = tuple(k for k in type(bp.components).model_fields if getattr(bp.components, k) is not None)
    return Entry(
        ref=path.stem,
        name=bp.metadata.name,
        tier=bp.metadata.tier or "-",
        purpose=bp.metadata.purpose or "",
        cloud=bp.target.cloud,
        clean_clouds=clouds,
        components=comps,
        environments=tuple(loaded.envs),
        min_usd=round(sum(x.min_usd for x in est.values()), 2),
        max_usd=round(sum(x.max_usd for x in est.values()), 2),
        packs=tuple(bp.policies.packs),
    )


def entries() -> list[Entry]:
    """Every reference blueprint, ordered by tier, then name."""
    return sorted(
        (entry(p) for p in references()), key=lambda e: (TIERS.index(e.tier) if e.tier in TIERS else 9, e.ref)
    )


# --- compare -------------------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    if isinstance(value, list):
        return {prefix: ", ".join(str(x) for x in value) if value else "[]"}
    return {prefix: value}


def _section(path: str) -> str:
    parts = path.split(".")
    return ".".join(parts[:2]) if parts[0] in ("components", "environments") else parts[0]


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    rows: list[tuple[str, str, str, str, bool]]  # (section, field, value in a, value in b, differs)
    costs: list[tuple[str, str, str]]  # (environment, range in a, range in b)

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "fields": [{"section": s, "field": f, "a": x, "b": y, "differs": d} for s, f, x, y, d in self.rows],
            "costs": [{"env": e, "a": x, "b": y} for e, x, y in self.costs],
        }


def compare(a: str | Path, b: str | Path) -> Comparison:
    """Two blueprints field by field: every field set in either (defaults filled in on both sides)."""
    la, lb = load(resolve(a)), load(resolve(b))
    full = [_flatten(x.base.model_dump(mode="json")) for x in (la, lb)]
    shown = set()
    for x in (la, lb):
        shown |= set(_flatten(x.base.model_dump(mode="json", exclude_defaults=True)))
    rows = []
    for key in sorted(shown, key=lambda k: (_section(k), k)):
        va, vb = (str(f.get(key, "-")) for f in full)
        sec = _section(key)
        rows.append((sec, key[len(sec) + 1 :] or key, va, vb, va != vb))
    ea, eb = cost.estimate_blueprint(la), cost.estimate_blueprint(lb)
    costs = [
        (
            env,
            f"{cost.usd(ea[env].min_usd)}-{cost.usd(ea[env].max_usd)}" if env in ea else "-",
            f"{cost.usd(eb[env].min_usd)}-{cost.usd(eb[env].max_usd)}" if env in eb else "-",
        )
        for env in dict.fromkeys([*ea, *eb])
    ]
    costs.append(("total", cost.range_text(ea), cost.range_text(eb)))
    return Comparison(la.name, lb.name, rows, costs)


# --- init ----------------------------------------------------------------------------------------


def init(dest: str | Path, ref: str | Path, *, cloud: str | None = None, name: str | None = None) -> Path:
    """Write a new blueprint at `dest` from `ref`, retargeted to `cloud` and renamed to `name`.

    It is validated in a temporary file next to `dest` and only then moved there; an existing `dest` is
    refused (WontOverwrite), as is a result that does not validate (RetargetInvalid, with the problems)."""
    dest = Path(dest)
    if dest.exists():
        raise WontOverwrite(f"{dest} exists; init never overwrites a file: choose another path or remove it")
    if cloud is not None and cloud not in registry.NAMES:
        raise RetargetInvalid(f"--cloud must be one of {', '.join(registry.NAMES)}, not {echo(cloud)}")
    src = resolve(ref)
    loaded = load(src)
    text = _own_values(src.read_text(), loaded)
    text = _without_spot(retarget_text(text, loaded, cloud), cloud or loaded.base.target.cloud)
    if name is not None:
        text = _rename(text, name)
    text = _modeline(text, dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".yaml", dir=dest.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        try:
            load(tmp)
        except BlueprintError as exc:
            raise RetargetInvalid(
                f"{src.stem} retargeted to {cloud or loaded.base.target.cloud} does not validate; nothing was written:\n"
                + str(exc).replace(tmp, str(dest))
            ) from None
        if dest.exists():  # created meanwhile: still never overwrite
            raise WontOverwrite(f"{dest} exists; init never overwrites a file")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest
