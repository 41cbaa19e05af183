"""The blueprint: one typed, cloud-neutral description of an MLOps platform.

Every model is frozen and forbids unknown fields. An omitted optional field takes
the secure choice; each field's description says what that choice is. Structural
rules live on the models (pydantic); rules that need the whole document or a
cloud's catalog live in `blueprints.rules` so that they can point at the exact
field they are about.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.neutral import Accelerator, SharingMode, Size
from mlops_blueprint.blueprints.text import describe_char, echo, first_non_ascii, first_unsafe

# The registered target clouds (`blueprints/registry.py`).
Cloud = Literal[registry.NAMES]  # type: ignore[valid-type]


# --- user text: what a name and what free text may hold ----------------------------------------------
# Blueprints arrive from pull requests. A name (a map key, a region, anything that becomes a resource
# name, a tag or a label) refuses control, bidi and zero-width characters and any character outside
# ASCII (a Cyrillic `а` looks like `a`); free text refuses the first three. Both name the character and
# its column in the value: "U+0430 CYRILLIC SMALL LETTER A at column 3: a region is ...". Refused at
# `validate`, so no medium (terminal, tags, reports, diagrams) ever receives them. Each string type
# below carries one of these two checks; tests/blueprints/test_user_text.py walks the model to keep it so.

# What the JSON Schema says of free text (editors flag it): no C0/C1 control other than tab and line
# feed, no bidi, zero-width or line-separator character, no BOM. `validate` refuses these and the rest
# of Unicode's format, private-use and unassigned characters (blueprints/text.py UNSAFE_CATEGORIES).
_HIDDEN = r"\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
TEXT_PATTERN = rf"^[^\u000a{_HIDDEN}]*$"  # one line (a tag or label value, a reason, a purpose)
LINES_PATTERN = rf"^[^{_HIDDEN}]*$"  # several lines (a description)
ASCII_PATTERN = r"^[ -~]+$"  # an identifier without a pattern of its own: printable ASCII (what plain_name takes)


# The controls a blueprint most often carries by accident or on purpose, by their Unicode alias
# (unicodedata has no name for a control character).
_CONTROLS = {
    "\x00": "NULL",
    "\x07": "BELL",
    "\x08": "BACKSPACE",
    "\t": "CHARACTER TABULATION (a tab)",
    "\n": "LINE FEED (a line break)",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE",
}


def _refuse(value: object, rule: str, *, ascii_only: bool, lines: bool = False) -> object:
    if not isinstance(value, str):
        return value  # the type check that follows says what was expected
    found = [first_unsafe(value, newline=lines, tab=lines), first_non_ascii(value) if ascii_only else None]
    first = min((f for f in found if f is not None), default=None)  # the leftmost of the two
    if first is not None:
        col, ch = first
        what = f"U+{ord(ch):04X} {_CONTROLS[ch]}" if ch in _CONTROLS else describe_char(ch)
        raise ValueError(f"{what} at column {col}: {rule}")
    return value


def plain_name(rule: str) -> BeforeValidator:
    """A name or identifier: ASCII only, no control/bidi/zero-width character (`rule` says what it is)."""
    return BeforeValidator(lambda v: _refuse(v, rule, ascii_only=True))


def plain_text(rule: str, *, lines: bool = False) -> BeforeValidator:
    """Free text: any letter, no control/bidi/zero-width character; `lines` keeps line breaks and tabs."""
    return BeforeValidator(lambda v: _refuse(v, rule, ascii_only=False, lines=lines))


# A logical name: the part after the prefix in every cloud resource name.
Name = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$"),
    plain_name("a name is lowercase ASCII letters, digits and hyphens"),
]
# Catalog database names: letters, digits, underscores (Glue, BigQuery and Hive all accept these).
DbName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$"),
    plain_name("a database name is lowercase ASCII letters, digits and underscores"),
]
# An address: it becomes the owner tag, an alarm subscription, a waiver's owner. ASCII (an
# internationalized domain in its xn-- form), no spaces, quotes, braces or `$`: no cloud's tags take them.
Email = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$", max_length=254),
    plain_name("an address is ASCII (write an internationalized domain in its xn-- form)"),
]
# A region of any cloud (eu-central-1, europe-west4, westeurope, onprem).
Region = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,48}[a-z0-9]$"),
    plain_name("a region is ASCII letters, digits and hyphens"),
]
# A Kubernetes label key ([prefix/]name) and value, as the API server accepts them.
LabelKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?"
        r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
    ),
    plain_name("a label key is ASCII letters, digits, '-', '_', '.' and one '/'"),
]
LabelValue = Annotated[
    str,
    StringConstraints(pattern=r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"),
    plain_name("a label value is ASCII letters, digits, '-', '_' and '.'"),
]


def _cron_field(value: str, extra: str = "") -> str:
    """One cron field: `*`, a value or a range, each with an optional /step, comma-separated."""
    item = rf"(?:\*|(?:{value})(?:-(?:{value}))?)(?:/[1-9][0-9]?)?"
    return rf"(?:{extra}{item}(?:,{item})*)"


# minute hour day-of-month month day-of-week; day of week by name so that every cloud reads it alike.
# The pattern bounds every value (minute 0-59, hour 0-23, day 1-31, month 1-12); `_cron_order` checks
# what a pattern cannot (a range's start is not after its end).
CRON_RANGES = {"minute": (0, 59), "hour": (0, 23), "day of month": (1, 31), "month": (1, 12)}
_DAY = "MON|TUE|WED|THU|FRI|SAT|SUN"
# Each field's pattern, and what it accepts in words (the message of a cron that does not match).
CRON_FIELDS = (
    ("minute", _cron_field("[0-5]?[0-9]"), "*, 0-59, a range (0-30), a step (*/15) or a list (0,30)"),
    ("hour", _cron_field("[01]?[0-9]|2[0-3]"), "*, 0-23, a range (8-18), a step (*/6) or a list (8,20)"),
    (
        "day of month",
        _cron_field("0?[1-9]|[12][0-9]|3[01]", extra=r"\?|"),
        "*, ?, 1-31, a range (1-15), a step (*/2) or a list (1,15)",
    ),
    ("month", _cron_field("0?[1-9]|1[0-2]"), "*, 1-12, a range (1-6), a step (*/3) or a list (1,7)"),
    (
        "weekday",
        rf"(?:\*|\?|(?:{_DAY})(?:[-,](?:{_DAY}))*)",
        "*, ? or day names MON-SUN, as a range (MON-FRI) or a list (MON,WED); not numbers, which clouds "
        "count differently",
    ),
)
CRON = "^" + " ".join(rx for _, rx, _ in CRON_FIELDS) + "$"
CRON_FORM = "a 5-field cron (minute hour day month weekday), such as '0 3 * * *' or '30 2 * * MON-FRI'"


def _cron_form(value: object) -> object:
    """Says what is wrong with a cron the pattern refuses: which field, and what that field accepts.
    It refuses only what `CRON` refuses (the JSON Schema keeps the pattern), in plain words."""
    if not isinstance(value, str) or re.fullmatch(CRON, value):
        return value
    _refuse(value, CRON_FORM, ascii_only=True)
    parts = value.split(" ")
    if len(parts) != 5 or "" in parts:
        fields = len(value.split())
        spaces = "" if fields != 5 else ", separated by single spaces"
        raise ValueError(f"{echo(value)} is not {CRON_FORM}{spaces}: it has {fields} field{'s' * (fields != 1)}")
    for (field, rx, accepts), part in zip(CRON_FIELDS, parts, strict=True):
        if not re.fullmatch(rx, part):
            raise ValueError(f"{echo(value)} is not {CRON_FORM}: its {field} field {echo(part)} is not {accepts}")
    raise ValueError(f"{echo(value)} is not {CRON_FORM}")  # pragma: no cover - every field matched


def _cron_order(value: str) -> str:
    for (field, (_, top)), part in zip(CRON_RANGES.items(), value.split(" "), strict=False):
        for item in part.split(","):
            span, _, step = item.partition("/")
            lo, _, hi = span.partition("-")
            if hi and lo != "*" and int(lo) > int(hi):
                raise ValueError(f"the {field} range {span} runs backwards; write it low-high")
            if step and int(step) > top:
                raise ValueError(f"the {field} step /{step} is larger than the field's range (up to {top})")
    return value


Cron = Annotated[str, StringConstraints(pattern=CRON), BeforeValidator(_cron_form), AfterValidator(_cron_order)]


def _network(value: str) -> str:
    import ipaddress

    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value} is not an IPv4 network in CIDR form with its host bits zero ({exc})") from None
    if network.prefixlen == 0:
        raise ValueError(f"{value} is every address: name the networks that may reach the private cluster API")
    return value


# An IPv4 network in CIDR form, not the whole internet.
OperatorCidr = Annotated[
    str,
    StringConstraints(pattern=ASCII_PATTERN, max_length=18),
    plain_name("a network is an ASCII CIDR"),
    AfterValidator(_network),
]
EnvName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9]{0,9}$"),
    plain_name("an environment name is lowercase ASCII letters and digits"),
]

PERSONAS: tuple[str, ...] = ("data_engineers", "data_scientists", "ml_engineers", "app_consumers")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _unique(values: list, what: str) -> list:
    seen: list = []
    for v in values:
        if v in seen:
            raise ValueError(f"duplicate {what} {v!r}: each {what} may appear once")
        seen.append(v)
    return values


def unique(what: str) -> tuple:
    """Metadata for a list whose items must differ: the check, and `uniqueItems` in the JSON Schema."""
    return (AfterValidator(lambda v: _unique(v, what)), Field(json_schema_extra={"uniqueItems": True}))


def _whole_numbers(value: object) -> object:
    """4.0 -> 4, deeply. JSON Schema cannot tell 4.0 from 4 (its data model: an integer is any number
    with a zero fractional part), so neither does the loader; 4.5 stays a float and an int field refuses it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


class Metadata(Strict):
    name: Annotated[
        str,
        StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,20}[a-z0-9]$"),
        plain_name("a blueprint name is lowercase ASCII letters, digits and hyphens"),
    ] = Field(description="Blueprint name: 3-22 lowercase letters, digits and hyphens. Prefixes every resource name.")
    owner: Email = Field(description="Owning team's address; becomes the `owner` tag.")
    cost_center: Annotated[
        str,
        StringConstraints(pattern=TEXT_PATTERN, min_length=2, max_length=64),
        plain_text("a cost center is one line of text (it becomes a tag)"),
    ]
    data_classification: Literal["public", "internal", "confidential", "restricted"] = "confidential"
    tier: Literal["tactical", "strategic", "transformational"] | None = Field(
        default=None,
        description="MLOps maturity tier the blueprint is shaped for: tactical (one team: lake, training, "
        "registry), strategic (a shared lake and catalog, serving and monitoring, dev and prod) or "
        "transformational (several domains, regulated data, three environments, every component). "
        "Informational: `catalog` and `init` show it; omitted: not stated.",
    )
    purpose: (
        Annotated[
            str,
            StringConstraints(pattern=TEXT_PATTERN, min_length=10, max_length=200),
            plain_text("a purpose is one line of text"),
        ]
        | None
    ) = Field(
        default=None, description="One sentence on what the blueprint is for (`catalog` shows it); omitted: none."
    )


class Target(Strict):
    cloud: Cloud
    region: Region
    # Fields of one cloud (its registry entry lists them; another cloud's field is a validation error).
    account_id: (
        Annotated[str, StringConstraints(pattern=r"^\d{12}$"), plain_name("an AWS account id is 12 ASCII digits")]
        | None
    ) = Field(default=None, description="AWS account the stacks may deploy to; omitted: any (checked by `verify`).")
    project_id: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"),
            plain_name("a project id is lowercase ASCII letters, digits and hyphens"),
        ]
        | None
    ) = Field(default=None, description="GCP project the stacks deploy into; required when cloud is gcp.")
    billing_account: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[A-F0-9]{6}-[A-F0-9]{6}-[A-F0-9]{6}$"),
            plain_name("a billing account is ASCII hex digits and hyphens"),
        ]
        | None
    ) = Field(
        default=None, description="GCP billing account for the budget; omitted: no GCP budget (AWS budgets need none)."
    )
    kube_context: (
        Annotated[
            str, StringConstraints(pattern=ASCII_PATTERN, max_length=253), plain_name("a kubeconfig context is ASCII")
        ]
        | None
    ) = Field(
        default=None,
        description="On-prem: the kubeconfig context of the existing cluster; required when cloud is onprem.",
    )
    kubernetes_version: (
        Annotated[
            str, StringConstraints(pattern=r"^1\.\d{2}$"), plain_name("a Kubernetes version is ASCII, such as 1.33")
        ]
        | None
    ) = Field(
        default=None,
        description="On-prem: the cluster's Kubernetes minor version (manifests are validated against it).",
    )
    storage_class: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"),
            plain_name("a StorageClass name is lowercase ASCII letters, digits, '-' and '.'"),
        ]
        | None
    ) = Field(default=None, description="On-prem: the StorageClass for the platform's volumes.")
    ingress_class: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"),
            plain_name("an IngressClass name is lowercase ASCII letters, digits, '-' and '.'"),
        ]
        | None
    ) = Field(
        default=None, description="On-prem: the IngressClass for the platform's UIs (MLflow, Grafana, the registry)."
    )
    gpu_node_labels: dict[Accelerator, dict[LabelKey, LabelValue]] | None = Field(
        default=None,
        description="On-prem: the node labels that select each accelerator's nodes "
        "(e.g. nvidia-a100: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}).",
    )
    object_store: (
        Annotated[
            str,
            StringConstraints(pattern=r"^https://[^\s/]+(/[^\s]*)?$"),
            plain_name("an endpoint URL is ASCII (a host in its xn-- form)"),
        ]
        | None
    ) = Field(
        default=None,
        description="On-prem: an existing S3-compatible endpoint for the lake; omitted: an in-cluster store.",
    )
    subscription_id: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
            plain_name("a subscription id is a lowercase ASCII GUID"),
        ]
        | None
    ) = Field(
        default=None,
        description="Azure subscription the stacks deploy into (a lowercase GUID); required when cloud "
        "is azure. Environments may override it (one subscription per environment).",
    )
    runner_network: (
        Annotated[
            str,
            StringConstraints(
                pattern=r"^/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                r"/resourceGroups/[-\w.()]{1,90}/providers/Microsoft\.Network/virtualNetworks/[-\w.]{2,64}$"
            ),
            plain_name("a virtual network id is ASCII"),
        ]
        | None
    ) = Field(
        default=None,
        description="Azure: the resource id of the virtual network the deploying runner (CI agent, jump host) "
        "runs in, in the target subscription. The stack peers it with the platform VNet and links every "
        "private DNS zone (Key Vault, the lake, the cluster API) to it, so the first apply can create keys, "
        "lake filesystems and the cluster stack's objects, all data-plane calls to private endpoints. "
        "Omitted: the runner must already be inside the platform VNet, which the first apply creates.",
    )
    admin_group_object_ids: (
        Annotated[
            list[
                Annotated[
                    str,
                    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
                    plain_name("a group object id is a lowercase ASCII GUID"),
                ]
            ],
            Field(max_length=10),
            *unique("group"),
        ]
        | None
    ) = Field(
        default=None,
        description="Azure: Entra ID groups (object ids) whose members are cluster admins of AKS "
        "(`admin_group_object_ids`). Omitted: none; the deploying principal is cluster admin by a role "
        "assignment on the cluster either way.",
    )


def _platform_network(value: str) -> str:
    """The platform network's CIDR: a network address (host bits zero), as every cloud's subnet layout
    needs it (`10.60.0.1/16` validated before, then stopped synth on Azure)."""
    import ipaddress

    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(
            f"{value} is not a network address ({exc}); write the network's first address, e.g. 10.40.0.0/16"
        ) from None
    return value


class Network(Strict):
    cidr: Annotated[
        str,
        StringConstraints(pattern=r"^\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-4])$"),
        plain_name("a network is an ASCII CIDR"),
        AfterValidator(_platform_network),
    ] = "10.40.0.0/16"
    zones: Annotated[int, Field(ge=2, le=4)] = 2
    operator_cidrs: Annotated[list[OperatorCidr], Field(max_length=20), *unique("network")] = Field(
        default=[],
        description=(
            "Networks outside the platform network that run deploys and kubectl against the private cluster "
            "API (a VPN, a peered network, a self-hosted CI runner's subnet). The platform network itself "
            "always may. Omitted: none."
        ),
    )


class Budget(Strict):
    monthly_limit_usd: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    alert_at_percent: Annotated[int, Field(ge=1, le=200)] = 80


class Baseline(Strict):
    """The secure baseline every platform gets. Omitted: a /16 network over two zones, a 1000 USD budget."""

    network: Network = Network()
    budget: Budget = Budget()


class DataLake(Strict):
    zones: Annotated[list[Name], Field(min_length=1, max_length=8), *unique("zone")] = ["raw", "curated", "features"]
    versioning: bool = Field(default=True, description="Object versioning; omitted: on.")
    retention_days: dict[Name, Annotated[int, Field(ge=1, le=36500)]] = Field(
        default_factory=dict, description="Days to keep current objects per zone; omitted: kept forever."
    )
    noncurrent_version_days: Annotated[int, Field(ge=1, le=3650)] = 90
    engineering_zones: Annotated[list[Name], *unique("engineering zone")] = Field(
        default=["raw", "curated"],
        description="Zones written by data pipelines (DataOps). Only data engineers may write them.",
    )


class Database(Strict):
    zones: Annotated[list[Name], *unique("zone")] = Field(
        default_factory=list, description="Lake zones crawled into this database."
    )
    description: Annotated[
        str,
        # 2,048 characters: the shortest limit of the catalogs it goes to (a Glue database description)
        StringConstraints(pattern=LINES_PATTERN, max_length=2048),
        plain_text("a description is text (line breaks and tabs allowed)", lines=True),
    ] = Field(default="", description="What the database holds (at most 2,048 characters); omitted: none.")


class Catalog(Strict):
    databases: Annotated[dict[DbName, Database], Field(min_length=1)]
    crawl_schedule: Cron = Field(
        default="0 3 * * *",
        description="When the lake is scanned into the catalog, as a 5-field cron in UTC "
        "(day of week as *, or names such as MON-FRI); omitted: daily at 03:00.",
    )


class Sharing(Strict):
    """How a pool's GPUs are shared. mode none (omitted): one pod per GPU. time-slicing: `replicas` pods
    take turns on each GPU (no memory isolation). mig: each GPU is split into Multi-Instance GPU slices
    of `profile` (A100 and H100 only). Each cloud maps what it can and refuses the rest at `validate`."""

    mode: SharingMode = "none"
    replicas: Annotated[int, Field(ge=2, le=48)] | None = Field(
        default=None, description="time-slicing only: pods per GPU."
    )
    profile: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[1-7]g\.\d{1,3}gb$"),
            plain_name("a MIG profile is ASCII, such as 1g.10gb"),
        ]
        | None
    ) = Field(default=None, description="mig only: the slice, such as 1g.10gb.")


class Pool(Strict):
    accelerator: Accelerator
    gpus_per_node: Literal[1, 2, 4, 8] = 1
    min_nodes: Annotated[int, Field(ge=0, le=1000)] = 0
    max_nodes: Annotated[int, Field(ge=1, le=1000)]
    spot: bool = False
    disk_gb: Annotated[int, Field(ge=50, le=16000)] = 200
    sharing: Sharing = Field(default=Sharing(), description="GPU sharing; omitted: none (a whole GPU per pod).")


class Training(Strict):
    pools: Annotated[dict[Name, Pool], Field(min_length=1)]
    kubernetes_version: Annotated[
        str, StringConstraints(pattern=r"^1\.\d{2}$"), plain_name("a Kubernetes version is ASCII, such as 1.35")
    ] = "1.35"
    kubernetes_support: Literal["standard", "extended"] = Field(
        default="standard",
        description=(
            "What the cluster does when its version leaves standard support. standard: the cloud upgrades "
            "the control plane to the next version, and a version already past standard support is refused. "
            "extended: the cluster stays on its version under the cloud's paid extended (long-term) support, "
            "whose price the cost estimate and the warning name."
        ),
    )


class Registry(Strict):
    models: Annotated[list[Name], Field(min_length=1), *unique("model")]
    image_scanning: bool = True
    immutable_tags: bool = True
    keep_images: Annotated[int, Field(ge=1, le=1000)] = 30


class Endpoint(Strict):
    model: Name = Field(description="A model declared in components.registry.models.")
    size: Size = "cpu-medium"
    min_replicas: Annotated[int, Field(ge=1, le=100)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 2
    target_invocations_per_replica: Annotated[int, Field(ge=1, le=100_000)] = 100
    capture_requests: bool = Field(default=True, description="Record requests and responses; omitted: on.")
    capture_percent: Annotated[int, Field(ge=1, le=100)] = 100
    image_tag: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"),
        plain_name("an image tag is ASCII letters, digits, '_', '.' and '-'"),
    ] = "bootstrap"
    private: bool = Field(
        default=True,
        description="Reachable only from the platform network (GCP: Private Service "
        "Connect; AWS: invoked only through the platform's SageMaker runtime VPC endpoint); omitted: private.",
    )


class Serving(Strict):
    endpoints: Annotated[dict[Name, Endpoint], Field(min_length=1)]


class Alerts(Strict):
    latency_p99_ms: Annotated[int, Field(ge=1, le=600_000)] = 500
    error_rate: Annotated[float, Field(gt=0, lt=1)] = 0.01
    gpu_utilization_pct: Annotated[int, Field(ge=1, le=100)] = 95


class Monitoring(Strict):
    alerts: Alerts = Alerts()
    notify: Annotated[list[Email], Field(min_length=1), *unique("address")]


class Components(Strict):
    """Every component is optional; an omitted one is not built."""

    data_lake: DataLake | None = None
    catalog: Catalog | None = None
    training: Training | None = None
    registry: Registry | None = None
    serving: Serving | None = None
    monitoring: Monitoring | None = None


class LakeAccess(Strict):
    read: Annotated[list[Name], *unique("zone")] = Field(default_factory=list)
    write: Annotated[list[Name], *unique("zone")] = Field(default_factory=list)


class Persona(Strict):
    """What one persona may touch. Omitted fields grant nothing."""

    lake: LakeAccess = LakeAccess()
    catalog: Literal["none", "read", "write"] = "none"
    training: bool = False
    registry: Literal["none", "read", "write"] = "none"
    serving: Literal["none", "invoke", "deploy"] = "none"


class Access(Strict):
    """The four personas. Omitted: DataOps/MLOps separation by default."""

    data_engineers: Persona = Persona(
        lake=LakeAccess(read=["raw", "curated", "features"], write=["raw", "curated", "features"]), catalog="write"
    )
    data_scientists: Persona = Persona(
        lake=LakeAccess(read=["curated", "features"], write=[]), catalog="read", training=True, registry="read"
    )
    ml_engineers: Persona = Persona(
        lake=LakeAccess(read=["features"]), catalog="read", training=True, registry="write", serving="deploy"
    )
    app_consumers: Persona = Persona(serving="invoke")


class Environment(Strict):
    protect_stateful: bool = Field(
        default=True, description="prevent_destroy on lake, registry, keys and state; omitted: protected."
    )
    overrides: dict[
        Annotated[
            str,
            StringConstraints(pattern=ASCII_PATTERN),
            plain_name("an override key is a dotted path of field names (ASCII)"),
        ],
        JsonValue,
    ] = Field(default_factory=dict, description="Dotted paths into this document, replaced for this environment.")


class StateConfig(Strict):
    backend: Literal["s3", "gcs", "azurerm", "kubernetes", "local"] | None = Field(
        default=None, description="Omitted: the target cloud's own (s3 on aws, gcs on gcp), so retargeting moves it."
    )
    bucket: Annotated[str, StringConstraints(pattern=ASCII_PATTERN), plain_name("a bucket name is ASCII")] | None = (
        Field(default=None, description="Omitted: <name>-<env>-tfstate, one per environment.")
    )
    lock_table: Annotated[str, StringConstraints(pattern=ASCII_PATTERN), plain_name("a table name is ASCII")] | None = (
        Field(default=None, description="s3 only (gcs locks natively). Omitted: <name>-<env>-tflock.")
    )

    def backend_for(self, cloud: str) -> str:
        return self.backend or registry.get(cloud).catalog.state_backend


def _date_or_text(value: object) -> object:
    """A YAML date or a YYYY-MM-DD string; a number is not a date here (pydantic would read it as Unix time)."""
    if isinstance(value, (int, float)):
        raise ValueError(f"expected a date such as 2027-03-31, got the number {value!r}")
    return value


class Waiver(Strict):
    check: Annotated[
        str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]+$"), plain_name("a check id is ASCII capitals, digits and '_'")
    ]
    resource: Annotated[
        str,
        StringConstraints(pattern=ASCII_PATTERN, max_length=512),
        plain_name("a waiver's resource is a component or resource address (ASCII)"),
    ]
    reason: Annotated[
        str,
        StringConstraints(pattern=TEXT_PATTERN, min_length=10),
        plain_text("a reason is one line of text (a YAML | or > block adds line breaks: write >- or one line)"),
    ]
    owner: Email
    expires: Annotated[dt.date, BeforeValidator(_date_or_text)] = Field(
        strict=False, description="The last day the waiver holds, YYYY-MM-DD."
    )


class PolicyConfig(Strict):
    packs: Annotated[list[Literal["baseline", "regulated"]], *unique("pack")] = ["baseline"]
    allowed_regions: Annotated[list[Region], *unique("region")] = Field(
        default_factory=list,
        description=(
            "Regions of any cloud the blueprint may run in (list each cloud's, so a retarget stays inside them); "
            "omitted: every region the cloud module supports."
        ),
    )
    waivers: list[Waiver] = Field(default_factory=list)


class Blueprint(Strict):
    """The root document (`apiVersion: mlops.blueprint/v1`, `kind: Blueprint`)."""

    apiVersion: Literal["mlops.blueprint/v1"]
    kind: Literal["Blueprint"]
    metadata: Metadata
    target: Target
    baseline: Baseline = Baseline()
    components: Components
    access: Access = Access()
    environments: Annotated[dict[EnvName, Environment], Field(min_length=1)]
    state: StateConfig = StateConfig()
    policies: PolicyConfig = PolicyConfig()

    @model_validator(mode="before")
    @classmethod
    def _integral_floats(cls, data: object) -> object:
        return _whole_numbers(data)


# A YAML date (`expires: 2027-03-31`) as a validator that loads YAML natively sees it: not a JSON type at
# all. The schema takes a date-formatted string or any value that is none of the JSON types.
_DATE = {
    "format": "date",
    "pattern": r"^\d{4}-\d{2}-\d{2}$",
    "not": {"type": ["number", "boolean", "object", "array", "null"]},
    "description": "A date, YYYY-MM-DD (a YAML date or a string).",
}


def _map_keys(node: object) -> None:
    """Every map keyed by user names gets `propertyNames` with the pattern `validate` uses (pydantic
    writes only `patternProperties`, which lets a key that matches no pattern through unchecked)."""
    if isinstance(node, dict):
        pattern = node.get("patternProperties")
        if isinstance(pattern, dict) and len(pattern) == 1 and "propertyNames" not in node:
            node["propertyNames"] = {"pattern": next(iter(pattern))}
            node["additionalProperties"] = False
        for v in node.values():
            _map_keys(v)
    elif isinstance(node, list):
        for v in node:
            _map_keys(v)


def json_schema() -> dict:
    """The blueprint JSON Schema (`blueprints/blueprint.schema.json`; `mlops-blueprint schema` writes it).

    It agrees with `validate` on each field; what only `validate` checks are the rules across fields
    and the cloud catalogs (`blueprints/rules.py`), a cron range that runs backwards, and in free text
    the rarer invisible characters (format, private-use, unassigned) beyond those TEXT_PATTERN lists."""
    data = Blueprint.model_json_schema()
    data["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    data["$id"] = "https://mlops.blueprint/v1/blueprint.schema.json"
    _map_keys(data)
    data["$defs"]["Waiver"]["properties"]["expires"] = dict(_DATE, title="Expires")
    return data
