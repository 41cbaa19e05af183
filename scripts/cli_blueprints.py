"""`outputs`, `cost`, `catalog` and `init`: the commands for the platform's consumers and architects.

They live here, beside `scripts/cli.py`, and `register(app)` adds them to the main app as top-level
commands. Like the rest of the CLI they only parse arguments, call the library (`scripts/outputs.py`,
`blueprints/cost.py`, `scripts/catalog.py`) and render; JSON goes to stdout untouched by rich.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from mlops_blueprint.scripts.cli_options import BlueprintArg, EnvOpt, WorkOpt
from mlops_blueprint.scripts.render import out, plain, rendering, table


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    return table(title, columns, rows)  # user text is never markup; ids and numbers are never cut


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    from mlops_blueprint.scripts.pipeline import BadOption

    if fmt not in allowed:
        raise BadOption(f"--format must be one of {', '.join(allowed)}, not {fmt!r}")


def outputs(
    blueprint: BlueprintArg,
    env: EnvOpt = None,
    local: Annotated[bool, typer.Option("--local", help="Read the environment deployed in the emulator.")] = False,
    format: Annotated[str, typer.Option("--format", help="json|table.")] = "table",
    provider_mirror: Annotated[
        Optional[str], typer.Option("--provider-mirror", help="Filesystem mirror of terraform providers.")
    ] = None,
    output: WorkOpt = None,
) -> None:
    """Print a deployed environment's outputs (the stable contract in the README) from its Terraform state."""
    from mlops_blueprint.scripts import outputs as lib
    from mlops_blueprint.scripts import pipeline

    with rendering() as renderer:
        _check_format(format, lib.FORMATS)
        loaded = pipeline.validate(blueprint, env)
        # JSON on stdout is for other tools: the progress events stay out of it.
        sink = renderer if format == "table" else None
        values = lib.read(loaded, env, local=local, mirror=provider_mirror, outdir=output, events=sink)
    if format == "json":
        print(lib.render_json(values, env))
        return
    for e, vals in values.items():
        out.print(_table(f"{loaded.name}-{e} outputs", ["output", "key", "value"], [list(r) for r in lib.rows(vals)]))


def cost(
    blueprint: BlueprintArg,
    env: EnvOpt = None,
    format: Annotated[str, typer.Option("--format", help="table|json.")] = "table",
    detail: Annotated[bool, typer.Option("--detail", help="Every priced line, not only the components.")] = False,
) -> None:
    """Offline monthly estimate per environment: minimum scale to maximum scale, against the budget."""
    from mlops_blueprint.blueprints import cost as lib
    from mlops_blueprint.scripts import pipeline

    with rendering():
        _check_format(format, ("table", "json"))
        estimates = lib.estimate_blueprint(pipeline.validate(blueprint, env), env)
    if format == "json":
        print(json.dumps({e: x.as_dict() for e, x in estimates.items()}, indent=2))
        return
    for e, x in estimates.items():
        out.print(_table(cost_title(e, x), COST_COLUMNS, cost_rows(x, detail)))
        line = budget_line(x)
        if line:
            out.print(line)
        for n in x.notes:
            out.print(f"  note: {plain(n)}")


# What `cost` and `catalog` show, shared with the README's generated figures (tests/test_readme.py).
COST_COLUMNS = ["component", "item", "minimum", "maximum"]
STATUS = {"ok": ("within budget", "green"), "warn": ("warning", "yellow"), "fail": ("over budget", "red")}
CATALOG_COLUMNS = ["blueprint", "tier", "clouds", "components", "environments", "USD/month", "packs"]


def cost_title(env: str, x: Any) -> str:
    return f"{env}: {x.cloud} {x.region} ({x.region_class} prices of {x.price_date}), USD per month"


def cost_rows(x: Any, detail: bool = False) -> list[list[str]]:
    """One environment's estimate (blueprints/cost.py Estimate): by component, or every priced line."""
    from mlops_blueprint.blueprints.cost import usd

    if detail:
        rows = [[ln.component, ln.item, usd(ln.min_usd), usd(ln.max_usd)] for ln in x.lines]
    else:
        rows = [[c, "", usd(lo), usd(hi)] for c, (lo, hi) in x.by_component().items()]
    return [*rows, ["total", "", usd(x.min_usd), usd(x.max_usd)]]


def budget_line(x: Any, markup: bool = True) -> str | None:
    """The estimate against its budget; None for owned capacity (on-prem), which has no budget."""
    from mlops_blueprint.blueprints.cost import usd

    if x.owned:
        return None
    word, colour = STATUS[x.budget_status]
    return (
        f"  {f'[{colour}]{word}[/]' if markup else word}: minimum {usd(x.min_usd)} vs budget {usd(x.budget_usd)} "
        f"(MLOPS_BP_007 fails above {usd(x.fail_above_usd)})"
    )


def catalog_rows(entries: list[Any]) -> list[list[str]]:
    """One row per reference blueprint (scripts/catalog.py Entry), in CATALOG_COLUMNS."""
    from mlops_blueprint.blueprints.cost import usd

    return [
        [
            e.ref,
            e.tier,
            " ".join(e.clean_clouds),
            ", ".join(e.components),
            ", ".join(e.environments),
            e.cost_range if e.max_usd else usd(0) + " (owned)",
            ", ".join(e.packs),
        ]
        for e in entries
    ]


def catalog(
    compare: Annotated[
        Optional[tuple[str, str]],
        typer.Option("--compare", help="Two references (names or files) side by side.", show_default=False),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="table|json.")] = "table",
) -> None:
    """The reference blueprints: tier, clouds, components, environments, monthly cost range, packs."""
    from mlops_blueprint.scripts import catalog as lib

    with rendering():
        _check_format(format, ("table", "json"))
        if compare:
            cmp = lib.compare(*compare)
        else:
            entries = lib.entries()
    if compare:
        if format == "json":
            print(json.dumps(cmp.as_dict(), indent=2))
            return
        rows = [[s, f, a, b, "≠" if d else ""] for s, f, a, b, d in cmp.rows]
        out.print(_table(f"{cmp.a} vs {cmp.b}", ["section", "field", cmp.a, cmp.b, ""], rows))
        out.print(
            _table("monthly cost, USD (minimum-maximum)", ["environment", cmp.a, cmp.b], list(map(list, cmp.costs)))
        )
        return
    if format == "json":
        print(json.dumps([e.as_dict() for e in entries], indent=2))
        return
    out.print(_table("reference blueprints", CATALOG_COLUMNS, catalog_rows(entries)))
    out.print("clouds: the target first, then those the target line retargets to cleanly (validated).")


def init(
    file: Annotated[Path, typer.Argument(help="The new blueprint file (never overwritten).", show_default=False)],
    from_: Annotated[str, typer.Option("--from", help="A reference name (see `catalog`) or a blueprint file.")],
    cloud: Annotated[Optional[str], typer.Option("--cloud", help="Retarget to aws|gcp|azure|onprem.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="The new metadata.name.")] = None,
) -> None:
    """Write a new blueprint from a reference: schema modeline, retargeted, renamed, validated before it is written."""
    from mlops_blueprint.blueprints import load
    from mlops_blueprint.blueprints.placeholders import MARKED
    from mlops_blueprint.scripts import catalog as lib

    with rendering():
        written = lib.init(file, from_, cloud=cloud, name=name)
        marked = [w for w in load(written).warnings if MARKED in w.message]
    if not marked:
        out.print(f"[green]wrote[/] {plain(written)} from {plain(from_)}")
        return
    out.print(
        f"[green]wrote[/] {plain(written)} from {plain(from_)}: replace its {len(marked)} placeholder(s) before "
        f"deploying (`validate` warns at each until it is replaced):"
    )
    for w in marked:
        out.print(f"  {plain(f'{w.file}:{w.line}:{w.col}')}: {plain(w.path)}")


def register(app: typer.Typer) -> None:
    """Add the commands to the main app (`scripts/cli.py`)."""
    for fn in (outputs, cost, catalog, init):
        app.command()(fn)
