"""The speed table of issue 14, measured in one run on this machine (not timed tests). Prints markdown.

    .venv/bin/python scripts/bench.py                      # every row (minutes: it deploys and plans)
    .venv/bin/python scripts/bench.py --rows validate,check -n 5

Rows (each ratio compares figures from this same run):
  validate  `mlops-blueprint validate` vs `python -c "import pydantic, yaml, typer, rich"` (fresh
            processes, median of n, wall and CPU), and where the difference goes (`-X importtime`).
  check     a second `check` of an unchanged blueprint (synth and checkov from the cache) vs the first
            and an uncached one (MLOPS_NO_CACHE=1).
  plan      `plan --local` of all 3 environments of the regulated blueprint vs 1, each on a fresh emulator.
  up        `up --local` (no verify) vs a bare `terraform init` + `apply` of the same JSON, each on a fresh
            emulator, with where `up`'s time goes (its step lines).
  size      synth time vs blueprint size: generated blueprints up to 20 pools, 30 endpoints, 8 lake zones
            and 5 environments, each in a fresh process (bindings import and synth timed apart).
  envs      validate time vs the number of environments: the starter with N and 4N environments
            (`--envs N`, default 1000), each overriding its budget with a value of its own; `load()`
            timed (CPU and wall) in a fresh process after a warm-up load of the starter (median of n),
            its peak memory, and the `validate` command at 4N.
  synth, gate: the earlier figures (synth 1 vs all environments; the gate's layers).

Every command runs with its own MLOPS_HOME (emulator, cache) in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "blueprints/reference/starter.yaml"
REGULATED = ROOT / "blueprints/reference/regulated-enterprise.yaml"
VISION = ROOT / "blueprints/reference/gcp-vision.yaml"
PY = sys.executable
CLI = [PY, "-m", "mlops_blueprint.scripts.cli"]
ENV = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="18,20", NO_COLOR="1", COLUMNS="200")
ROWS = ("validate", "check", "plan", "up", "size", "envs")
FULL_SIZE = (20, 30, 8, 5)  # pools, endpoints, lake zones, environments
BASELINE_IMPORTS = "import pydantic, yaml, typer, rich"


class Run:
    """One process: wall seconds, CPU seconds (user + sys of it and its children), exit code, output."""

    def __init__(self, cmd: list[str], env: dict | None = None, cwd: Path = ROOT, check: bool = True):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True)
        self.wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(map(str, cmd))} exited {proc.returncode}: {(proc.stderr or proc.stdout)[-1500:]}"
            )


def medians(f: Callable[[], Run], n: int) -> tuple[float, float]:
    runs = [f() for _ in range(n)]
    return statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs)


def home_env(home: Path, **extra: str) -> dict:
    return dict(ENV, MLOPS_HOME=str(home), **extra)


# --- validate ----------------------------------------------------------------------------------------


def importtime(cmd: list[str]) -> dict[str, int]:
    """Module -> its own import time in microseconds, from `python -X importtime`."""
    proc = subprocess.run([PY, "-X", "importtime", *cmd], cwd=ROOT, env=ENV, capture_output=True, text=True)
    out = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            out[m.group(4)] = int(m.group(1))
    return out


def group(module: str) -> str:
    top = module.split(".")[0]
    if top == "mlops_blueprint":
        parts = module.split(".")
        return ".".join(parts[:3]) if len(parts) > 2 else module
    if top in ("pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection"):
        return "pydantic (model building: what `import pydantic` leaves lazy)"
    if top in ("rich", "typer", "click", "shellingham", "markdown_it", "mdurl", "pygments"):
        return f"{top} (beyond the baseline's imports)"
    if top in sys.stdlib_module_names or top.startswith("_"):
        return "stdlib"
    return top


PHASES = """
import contextlib, io, sys, time
c = time.process_time
marks = [("interpreter start", c())]
import pydantic, yaml, typer, rich  # noqa
marks.append(("the baseline's imports", c()))
import pydantic.main, pydantic.fields, pydantic.types, pydantic.json_schema  # noqa
import pydantic._internal._generate_schema, pydantic._internal._model_construction  # noqa
marks.append(("pydantic's own modules that `import pydantic` leaves lazy", c()))
import mlops_blueprint.blueprints  # noqa
marks.append(("the blueprint package: its pydantic models built, loader, rules, registry", c()))
import typer.main, rich.console  # noqa
marks.append(("typer.main and rich.console", c()))
import mlops_blueprint.scripts.pipeline  # noqa
marks.append(("scripts.pipeline (events, glue types)", c()))
import mlops_blueprint.scripts.render  # noqa
marks.append(("scripts.render", c()))
import mlops_blueprint.scripts.cli as cli
marks.append(("scripts.cli: the other command modules, the typer app", c()))
from mlops_blueprint.blueprints import load
load(sys.argv[1])
marks.append(("loading and validating the blueprint (first time)", c()))
with contextlib.redirect_stdout(io.StringIO()):
    try:
        cli.app(["validate", sys.argv[1]], standalone_mode=False)
    except SystemExit:
        pass
marks.append(("the validate command (typer parsing, a second load, rich output)", c()))
prev = 0.0
for name, t in marks:
    print(f"{name}\t{t - prev:.4f}")
    prev = t
"""


def phases(n: int) -> dict[str, float]:
    """validate's CPU seconds by phase, in one process (median of n processes)."""
    runs = [Run([PY, "-c", PHASES, str(STARTER)]).stdout for _ in range(n)]
    out: dict[str, list[float]] = {}
    for text in runs:
        for line in text.strip().splitlines():
            name, secs = line.rsplit("\t", 1)
            out.setdefault(name, []).append(float(secs))
    return {k: statistics.median(v) for k, v in out.items()}


def bench_validate(n: int) -> dict:
    base_wall, base_cpu = medians(lambda: Run([PY, "-c", BASELINE_IMPORTS]), n)
    cli_wall, cli_cpu = medians(lambda: Run([*CLI, "validate", str(STARTER)]), n)
    load_wall, _ = medians(
        lambda: Run([PY, "-c", f"from mlops_blueprint.blueprints import load; load({str(STARTER)!r})"]), n
    )
    # where the difference goes: own import time of every module the baseline does not import
    base = importtime(["-c", BASELINE_IMPORTS])
    mine = importtime(["-m", "mlops_blueprint.scripts.cli", "validate", str(STARTER)])
    extra: dict[str, int] = {}
    for mod, us in mine.items():
        if mod not in base:
            extra[group(mod)] = extra.get(group(mod), 0) + us
    total_imports = sum(mine.values())
    account = sorted(extra.items(), key=lambda kv: -kv[1])[:12]
    return {
        "rows": {
            "validate": {
                "figure": cli_wall / base_wall,
                "text": f"{cli_wall / base_wall:.2f}× wall ({cli_wall:.3f} s vs {base_wall:.3f} s); "
                f"{cli_cpu / base_cpu:.2f}× CPU ({cli_cpu:.3f} s vs {base_cpu:.3f} s)",
            }
        },
        "detail": {
            "validate CLI (wall, median)": cli_wall,
            "validate CLI (CPU, median)": cli_cpu,
            "baseline imports (wall, median)": base_wall,
            "baseline imports (CPU, median)": base_cpu,
            "import + load, no CLI (wall, median)": load_wall,
        },
        "account": {
            **{f"validate CPU by phase: {k}": v for k, v in phases(n).items()},
            "importtime total of validate (s, one run, inflated by -X importtime)": total_imports / 1e6,
            "importtime total of the baseline (s)": sum(base.values()) / 1e6,
            **{f"not in the baseline: {k} (s)": v / 1e6 for k, v in account},
        },
    }


# --- check -------------------------------------------------------------------------------------------


def bench_check(n: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix="bench-check-"))
    try:
        out = home / "out"
        cmd = [*CLI, "check", str(STARTER), "-o", str(out)]
        code = _code_hash(home)
        uncached = Run(cmd, env=home_env(home, MLOPS_NO_CACHE="1"), check=False)
        first = Run(cmd, env=home_env(home), check=False)
        second = [Run(cmd, env=home_env(home), check=False) for _ in range(n)]
        wall = statistics.median(r.wall for r in second)
        same = all(
            _gate_lines(r.stdout) == _gate_lines(uncached.stdout) and r.rc == uncached.rc for r in [first, *second]
        )
        if not same and _code_hash(home) != code:
            same_text = "not comparable: the package changed during the row (other sessions edit it)"
        else:
            same_text = "yes" if same else "NO"
        rcs = {uncached.rc, first.rc, *(r.rc for r in second)}
        return {
            "rows": {
                "check": {
                    "figure": wall,
                    "text": f"{wall:.2f} s (median of {n}; the first, storing: {first.wall:.1f} s; "
                    f"uncached: {uncached.wall:.1f} s; same gate output and exit code as uncached: {same_text}; exit {sorted(rcs)})",
                }
            },
            "detail": {
                "check starter, uncached (MLOPS_NO_CACHE=1)": uncached.wall,
                "check starter, first run (stores)": first.wall,
                "check starter, second run (cached, median)": wall,
                "check starter, second run (cached, CPU median)": statistics.median(r.cpu for r in second),
            },
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _code_hash(home: Path) -> str:
    sys.path.insert(0, str(ROOT))
    from mlops_blueprint.stacks import cache

    return cache.code_hash(memo_dir=home / "bench-memo")


def _gate_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "policy gate" in line]


# --- emulator helpers --------------------------------------------------------------------------------


class Emulator:
    """The embedded emulator under a MLOPS_HOME of this bench's own."""

    def __init__(self, home: Path):
        self.home = home
        os.environ["MLOPS_HOME"] = str(home)
        sys.path.insert(0, str(ROOT))
        from mlops_blueprint.scripts import emulator

        self.mod = emulator

    def fresh(self):
        self.mod.stop()
        emu, _ = self.mod.start()
        return emu

    def stop(self) -> None:
        self.mod.stop()


# --- plan --------------------------------------------------------------------------------------------


PLAN_EACH = """
import sys, time
from pathlib import Path
from mlops_blueprint.scripts import pipeline
loaded = pipeline.validate(sys.argv[1])
t0 = time.perf_counter()
plans = pipeline.plan_each(loaded, sys.argv[2] or None, local=True, outdir=Path(sys.argv[3]))
print(time.perf_counter() - t0, sum(p.error is None for p in plans.values()), len(plans))
"""


WARM_LOCAL = """
import sys
from pathlib import Path
from mlops_blueprint.blueprints import load
from mlops_blueprint.policies.gate import checkov_for
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
loaded = load(sys.argv[1])
envs = loaded.select(sys.argv[3] if len(sys.argv) > 3 else None)
for e, r in zip(envs, synth(loaded, envs, Path(sys.argv[2]), DeploySettings.for_local(True)), strict=True):
    for stack in (r, getattr(r, "cluster", None)):  # the local stacks' checkov reports, into the cache
        if stack is not None:
            checkov_for(e, stack.json_path)
"""


def bench_plan() -> dict:
    """Plans of one environment of the regulated blueprint, then of all three, each on a fresh emulator
    and in a fresh output folder (terraform init included). Synth and checkov are answered from a warmed
    cache, so that the figures are the plans'. Two ways: the `plan` command as a user runs it (since
    8472bed it plans the environments at once through `plan_each`; before, one after another), and
    `plan_each` itself (the environments in threads, as `review` plans them), in-process and timed
    around the call, which leaves out the CLI's start."""
    home = Path(tempfile.mkdtemp(prefix="bench-plan-"))
    emu = Emulator(home)
    env = home_env(home, MLOPS_PROVIDER_MIRROR=os.environ.get("MLOPS_PROVIDER_MIRROR", ""))
    rows, detail = {}, {}
    try:
        Run([PY, "-c", WARM_LOCAL, str(REGULATED), str(home / "warm")], env=env)
        emu.fresh()
        one = Run(
            [*CLI, "plan", str(REGULATED), "--env", "dev", "--local", "-o", str(home / "one")], env=env, check=False
        )
        emu.fresh()
        every = Run([*CLI, "plan", str(REGULATED), "--local", "-o", str(home / "all")], env=env, check=False)
        text = f"`plan` command: {every.wall / one.wall:.2f}× ({every.wall:.1f} s vs {one.wall:.1f} s)"
        if one.rc or every.rc:
            text = (
                f"`plan` command: not measured, it refused (exit {one.rc}/{every.rc}: the gate failed at this commit)"
            )
        detail.update({"plan --local, 1 environment (regulated)": one.wall, "plan --local, 3 environments": every.wall})
        figure = every.wall / one.wall
        if "def plan_each" in (ROOT / "scripts/pipeline.py").read_text():
            times: dict[str, float] = {}
            cpu: dict[str, float] = {}
            for label, which in (("1", "dev"), ("3", "")):
                emu.fresh()
                r = Run([PY, "-c", PLAN_EACH, str(REGULATED), which, str(home / f"each-{label}")], env=env)
                secs, planned, n = r.stdout.split()
                times[label], cpu[label] = float(secs), r.cpu
                detail[f"plan_each, {label} environment(s), in-process ({planned}/{n} planned)"] = float(secs)
                detail[f"plan_each, {label} environment(s): CPU of the process and its terraforms"] = r.cpu
            figure = times["3"] / times["1"]
            text = (
                f"`plan_each` (environments in parallel): {figure:.2f}× ({times['3']:.1f} s vs {times['1']:.1f} s; "
                f"CPU {cpu['3'] / cpu['1']:.2f}×: {cpu['3']:.0f} s vs {cpu['1']:.0f} s on {os.cpu_count()} cores); "
                + text
            )
        rows["plan"] = {"figure": figure, "text": text}
        return {"rows": rows, "detail": detail}
    finally:
        emu.stop()
        shutil.rmtree(home, ignore_errors=True)


# --- up ----------------------------------------------------------------------------------------------

STEP = re.compile(r"^\s*>\s*(\S+): (.+) \((\d+)s\)\s*$")


def bench_up(warm: bool) -> dict:
    """`up --local --skip-verify` of starter dev against a fresh emulator, then a bare `terraform init` +
    `apply` of the same JSON against another fresh emulator with the same state bucket bootstrapped."""
    home = Path(tempfile.mkdtemp(prefix="bench-up-"))
    emu = Emulator(home)
    env = home_env(home)
    out = home / "out"
    try:
        if warm:  # synth --local and checkov before: `up` finds both in the cache
            Run([PY, "-c", WARM_LOCAL, str(STARTER), str(home / "warm"), "dev"], env=env)
        else:
            env["MLOPS_NO_CACHE"] = "1"
        emu.fresh()
        up = Run([*CLI, "up", str(STARTER), "--env", "dev", "--local", "--skip-verify", "-o", str(out)], env=env)
        steps: dict[str, int] = {}
        for line in up.stderr.splitlines():
            m = STEP.match(line)
            if m:
                steps[m.group(2)] = steps.get(m.group(2), 0) + int(m.group(3))
        # `up` reads the plan twice with `terraform show -json` (Terraform.plan for its summary, then the
        # gate's change rules): one more of them, timed on up's own plan file
        stack_dir = out / "stacks/starter-dev"
        show = Run(["terraform", "show", "-json", "tfplan"], env=dict(ENV, CHECKPOINT_DISABLE="1"), cwd=stack_dir)
        bare = _bare_terraform(emu, home, stack_dir / "cdk.tf.json")
        return {
            "rows": {
                "up": {
                    "figure": up.wall / bare,
                    "text": f"{up.wall / bare:.2f}× ({up.wall:.1f} s vs {bare:.1f} s; "
                    f"{'synth and checkov cached beforehand' if warm else 'cache off'})",
                }
            },
            "detail": {
                f"up --local starter dev, no verify ({'warm cache' if warm else 'no cache'})": up.wall,
                "terraform init + apply, same JSON": bare,
                "one `terraform show -json tfplan` of up's plan (up runs two)": show.wall,
                **{f"  up step: {k} (s, rounded)": float(v) for k, v in steps.items()},
            },
        }
    finally:
        emu.stop()
        shutil.rmtree(home, ignore_errors=True)


def _bare_terraform(emu: Emulator, home: Path, stack_json: Path) -> float:
    from mlops_blueprint.blueprints import load
    from mlops_blueprint.scripts.glue import Target
    from mlops_blueprint.scripts.glue.aws import bootstrap_state
    from mlops_blueprint.scripts.terraform import cli_config

    e = emu.fresh()
    lb = load(STARTER)
    aws_env = emu.mod.environment(e, lb.base.target.region)
    bootstrap_state(lb.envs["dev"], Target(local=True, mirror=None, env=aws_env, endpoint=e.endpoint), lambda m: None)
    bare_dir = home / "bare"
    bare_dir.mkdir()
    shutil.copy2(stack_json, bare_dir / "cdk.tf.json")
    tf_env = dict(ENV, MLOPS_HOME=str(home), **aws_env, CHECKPOINT_DISABLE="1")
    mirror = os.environ.get("MLOPS_PROVIDER_MIRROR")
    if mirror:
        tf_env["TF_CLI_CONFIG_FILE"] = str(cli_config(bare_dir, Path(mirror)))
    t0 = time.perf_counter()
    Run(["terraform", "init", "-input=false"], env=tf_env, cwd=bare_dir)
    Run(["terraform", "apply", "-auto-approve", "-input=false"], env=tf_env, cwd=bare_dir)
    return time.perf_counter() - t0


# --- synth vs size -----------------------------------------------------------------------------------


def generate(pools: int, endpoints: int, zones: int, envs: int) -> str:
    """A valid AWS blueprint with that many GPU pools, endpoints (one model each), lake zones (one catalog
    database each) and environments."""
    zs = [f"z{i:02d}" for i in range(zones)]
    lines = [
        "apiVersion: mlops.blueprint/v1",
        "kind: Blueprint",
        "metadata: {name: scale, owner: team@example.com, cost_center: cc-1}",
        "target: {cloud: aws, region: eu-central-1}",
        "components:",
        f"  data_lake: {{zones: [{', '.join(zs)}]}}",
        "  catalog:",
        "    databases:",
        *[f"      db{i:02d}: {{zones: [{z}]}}" for i, z in enumerate(zs)],
        "  training:",
        "    pools:",
        *[
            f"      p{i:02d}: {{accelerator: {'nvidia-l4' if i % 2 else 'nvidia-a10g'}, max_nodes: 2}}"
            for i in range(pools)
        ],
        f"  registry: {{models: [{', '.join(f'm{i:02d}' for i in range(endpoints))}]}}",
        "  serving:",
        "    endpoints:",
        *[f"      e{i:02d}: {{model: m{i:02d}}}" for i in range(endpoints)],
        "  monitoring: {notify: [oncall@example.com]}",
        "environments:",
        *[f"  env{i}: {{protect_stateful: false}}" for i in range(envs)],
    ]
    return "\n".join(lines) + "\n"


def sizes(steps: list[float]) -> list[tuple[int, int, int, int]]:
    return [tuple(max(1, round(x * f)) for x in FULL_SIZE) for f in steps]  # type: ignore[misc]


SYNTH_ONE = """
import json, sys, tempfile, time
t0 = time.perf_counter()
from mlops_blueprint.blueprints import load
from mlops_blueprint import stacks
from mlops_blueprint.stacks.settings import DeploySettings
lb = load(sys.argv[1])
stacks.stack_class(lb, DeploySettings())
import cdktn
t1 = time.perf_counter()
res = stacks._synth(lb, lb.select(None), tempfile.mkdtemp())
t2 = time.perf_counter()
n = sum(sum(len(v) for v in json.loads(r.json_path.read_text()).get("resource", {}).values()) for r in res)
print(json.dumps({"import": t1 - t0, "synth": t2 - t1, "resources": n}))
"""


def bench_size(steps: list[float]) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-size-"))
    points = []
    try:
        for pools, endpoints, zones, envs in sizes(steps):
            bp = work / f"scale-{pools}-{endpoints}-{zones}-{envs}.yaml"
            bp.write_text(generate(pools, endpoints, zones, envs))
            r = Run([PY, "-c", SYNTH_ONE, str(bp)], env=dict(ENV, MLOPS_NO_CACHE="1"))
            d = json.loads(r.stdout.strip().splitlines()[-1])
            points.append({"size": (pools, endpoints, zones, envs), **d, "wall": r.wall})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per = [p["synth"] / p["resources"] * 1000 for p in points]
    curve = "; ".join(
        f"{p['size'][0]}/{p['size'][1]}/{p['size'][2]}/{p['size'][3]}: {p['resources']} resources, synth {p['synth']:.1f} s"
        for p in points
    )
    return {
        "rows": {
            "size": {
                "figure": points[-1]["synth"],
                "text": f"{curve}; ms per resource {min(per):.1f}–{max(per):.1f} (bindings import {statistics.median(p['import'] for p in points):.1f} s apart)",
            }
        },
        "detail": {
            **{f"synth {p['size']} ({p['resources']} resources), s": p["synth"] for p in points},
            **{f"bindings import beside {p['size']}, s": p["import"] for p in points},
        },
        "points": points,
    }


# --- validate vs the number of environments --------------------------------------------------------


def many_environments(n: int) -> str:
    """The starter with `n` environments, each overriding its budget with a value of its own (so no two
    environments validate to the same model)."""
    text = STARTER.read_text()
    head = text[: text.index("\nenvironments:\n")]
    envs = "".join(f"  e{i}:\n    overrides:\n      baseline.budget.monthly_limit_usd: {100 + i}\n" for i in range(n))
    return f"{head}\nenvironments:\n{envs}"


LOAD_ONE = """
import json, resource, sys, time
from mlops_blueprint.blueprints import load
load(sys.argv[2])  # the lazy imports (each cloud's catalog, pydantic's validators) out of the figure
t0, c0 = time.perf_counter(), time.process_time()
lb = load(sys.argv[1])
t1, c1 = time.perf_counter(), time.process_time()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"load": t1 - t0, "cpu": c1 - c0, "envs": len(lb.envs), "rss_mb": rss}))
"""


def bench_envs(n: int, envs: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-envs-"))
    points = {}
    try:
        for count in (envs, 4 * envs):
            bp = work / f"envs-{count}.yaml"
            bp.write_text(many_environments(count))
            runs = [
                json.loads(Run([PY, "-c", LOAD_ONE, str(bp), str(STARTER)]).stdout.strip().splitlines()[-1])
                for _ in range(n)
            ]
            assert all(r["envs"] == count for r in runs)
            points[count] = {
                "load": statistics.median(r["load"] for r in runs),
                "cpu": statistics.median(r["cpu"] for r in runs),
                "rss_mb": max(r["rss_mb"] for r in runs),
                "bytes": bp.stat().st_size,
            }
        big = work / f"envs-{4 * envs}.yaml"
        cli = Run([*CLI, "validate", str(big)]).wall
    finally:
        shutil.rmtree(work, ignore_errors=True)
    small, large = points[envs], points[4 * envs]
    ratio = large["cpu"] / small["cpu"]
    return {
        "rows": {
            "envs": {
                "figure": ratio,
                "text": (
                    f"{envs} → {4 * envs} environments ({small['bytes'] // 1024} → {large['bytes'] // 1024} KB): "
                    f"load CPU {small['cpu']:.2f} → {large['cpu']:.2f} s, **{ratio:.2f}×** (wall {small['load']:.2f} → "
                    f"{large['load']:.2f} s, {large['load'] / small['load']:.2f}×; medians of {n}); peak memory "
                    f"{small['rss_mb']:.0f} → {large['rss_mb']:.0f} MB; `validate` of {4 * envs}: {cli:.1f} s wall"
                ),
            }
        },
        "detail": {
            f"load, {envs} environments, CPU s": small["cpu"],
            f"load, {4 * envs} environments, CPU s": large["cpu"],
            f"load, {envs} environments, wall s": small["load"],
            f"load, {4 * envs} environments, wall s": large["load"],
            f"validate command, {4 * envs} environments (wall), s": cli,
        },
    }


# --- the earlier figures -----------------------------------------------------------------------------


def bench_synth(n: int) -> dict:
    out = Path(tempfile.mkdtemp())
    env = dict(ENV, MLOPS_NO_CACHE="1")
    try:
        one = medians(lambda: Run([*CLI, "synth", str(REGULATED), "--env", "dev", "-o", str(out / "a")], env=env), n)[0]
        every = medians(lambda: Run([*CLI, "synth", str(REGULATED), "-o", str(out / "b")], env=env), n)[0]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"detail": {"synth 1 env (regulated, no cache)": one, "synth 3 envs (regulated, no cache)": every}}


def bench_gate(n: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from mlops_blueprint.blueprints import load
    from mlops_blueprint.policies import checkov_runner, packs
    from mlops_blueprint.policies.gate import blueprint_layer, resource_layer
    from mlops_blueprint.policies.tfjson import Doc
    from mlops_blueprint.stacks import _synth

    os.environ["MLOPS_NO_CACHE"] = "1"
    lb = load(REGULATED)
    env = lb.envs["prod"]
    out = Path(tempfile.mkdtemp())
    [res] = _synth(lb, [env], out)
    enforced, skip = packs.resolve(list(env.blueprint.policies.packs))

    def t(f: Callable[[], object]) -> float:
        t0 = time.perf_counter()
        f()
        return time.perf_counter() - t0

    doc = Doc(json.loads(res.json_path.read_text()))
    r = {
        "gate: blueprint rules (one env)": statistics.median(
            t(lambda: blueprint_layer(env, enforced)) for _ in range(n)
        ),
        "gate: own resource rules (one env)": statistics.median(
            t(lambda: resource_layer(res.json_path, enforced)) for _ in range(n)
        ),
        "gate: checkov alone (one env, no cache)": t(lambda: checkov_runner.run(res.json_path, doc, skip)),
    }
    shutil.rmtree(out, ignore_errors=True)
    return {"detail": r}


# --- main --------------------------------------------------------------------------------------------

TARGETS = {
    "up": ("`up --local` vs bare `terraform init` + `apply` of the same JSON", "≤ 1.1×"),
    "validate": ('`validate` vs `python -c "import pydantic, yaml, typer, rich"`', "≤ 1.5×, or an account"),
    "plan": ("`plan` of all 3 environments vs 1", "≤ 1.5×"),
    "check": ("a second `check` of an unchanged blueprint", "≤ 1.5 s"),
    "size": ("synth time vs size (pools/endpoints/zones/environments)", "grows linearly; the curve"),
    "envs": ("`validate` time vs the number of environments (N vs 4N)", "grows linearly: ≈ 4×"),
}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=5, help="samples per median (fast rows)")
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of {', '.join((*ROWS, 'synth', 'gate'))}")
    ap.add_argument("--steps", default="0.25,0.5,0.75,1", help="size row: fractions of the full size")
    ap.add_argument("--warm-up", action="store_true", help="up row: synth and checkov cached first")
    ap.add_argument("--envs", type=int, default=1000, help="envs row: N (it also measures 4N)")
    ap.add_argument("--snapshot", metavar="REF", help="measure a clean git worktree of REF (e.g. HEAD)")
    args = ap.parse_args(argv)
    args.rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = set(args.rows) - {*ROWS, "synth", "gate"}
    if unknown:
        ap.error(f"unknown rows: {', '.join(sorted(unknown))}")
    args.steps = [float(s) for s in args.steps.split(",")]
    if args.n < 1 or args.envs < 1 or not all(0 < s <= 1 for s in args.steps):
        ap.error("-n and --envs must be >= 1 and every step in (0, 1]")
    return args


def use_snapshot(ref: str) -> Path:
    """Run every measured command on a clean checkout of `ref` (a git worktree imported through
    PYTHONPATH ahead of the editable install): other work in progress in this tree stays out of the
    figures. checkov and the provider mirror are the ones of this tree."""
    global ROOT, STARTER, REGULATED, VISION
    snap = Path(tempfile.mkdtemp(prefix="bench-snapshot-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(snap / "tree"), ref], cwd=ROOT, check=True, capture_output=True
    )
    (snap / "path").mkdir()
    (snap / "path" / "mlops_blueprint").symlink_to(snap / "tree")
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"
    if checkov.is_file():
        ENV.setdefault("MLOPS_CHECKOV", str(checkov))
    ENV["PYTHONPATH"] = str(snap / "path")
    sys.path.insert(0, str(snap / "path"))
    ROOT = snap / "tree"
    STARTER, REGULATED, VISION = (ROOT / "blueprints/reference" / p.name for p in (STARTER, REGULATED, VISION))
    return snap


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    main_root = ROOT
    snap = use_snapshot(args.snapshot) if args.snapshot else None
    try:
        return _main(args)
    finally:
        if snap:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(snap / "tree")], cwd=main_root, capture_output=True
            )
            shutil.rmtree(snap, ignore_errors=True)


def _main(args: argparse.Namespace) -> dict:
    run = {
        "validate": lambda: bench_validate(args.n),
        "check": lambda: bench_check(args.n),
        "plan": bench_plan,
        "up": lambda: bench_up(args.warm_up),
        "size": lambda: bench_size(args.steps),
        "envs": lambda: bench_envs(args.n, args.envs),
        "synth": lambda: bench_synth(max(1, args.n // 2)),
        "gate": lambda: bench_gate(args.n),
    }
    results: dict = {"rows": {}, "detail": {}, "account": {}}
    load0 = os.getloadavg()[0]
    for name in args.rows:
        try:
            r = run[name]()
        except Exception as exc:  # noqa: BLE001 - a failed row is reported, the others still run
            r = {"rows": {name: {"figure": float("nan"), "text": f"FAILED: {str(exc)[-600:]}"}}}
        for k in ("rows", "detail", "account"):
            results[k].update(r.get(k, {}))
        print(f"done: {name}: {json.dumps(r, default=str)}", file=sys.stderr, flush=True)
    load1 = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} cores, load average {load0:.1f} at the start and {load1:.1f} at the end; "
        f"python {sys.version.split()[0]}; medians of {args.n}"
        + (f"; a clean worktree of {args.snapshot}" if args.snapshot else "; this working tree")
        + "\n"
    )
    if results["rows"]:
        print("| measure | this run | target |\n|---|---|---|")
        for name, row in results["rows"].items():
            print(f"| {TARGETS[name][0]} | {row['text']} | {TARGETS[name][1]} |")
        print()
    print("| detail | seconds |\n|---|---|")
    for k, v in {**results["detail"], **results["account"]}.items():
        print(f"| {k} | {v:.3f} |")
    print()
    print(json.dumps({k: {n: round(v["figure"], 3) for n, v in results["rows"].items()} for k in ["rows"]}))
    return results


if __name__ == "__main__":
    main()
