"""A small local runner for the `run:` steps of a GitHub Actions workflow (tests only).

It runs what GitHub would run for one event, in GitHub's order: the jobs that event selects,
topologically over `needs` (file order among equals), each matrix entry in turn, each step in turn.
`run:` steps run with bash as GitHub's `shell: bash` does (`bash --noprofile --norc -eo pipefail`),
with the workflow, job and step `env:` merged, `$GITHUB_OUTPUT`, `$GITHUB_ENV` and
`$GITHUB_STEP_SUMMARY` files, and the outputs of steps and jobs fed to later expressions.

`uses:` steps (checkout, setup-*, credentials, artifacts, upload-sarif, github-script) are GitHub's:
the caller stands in for them (a checkout folder, tools on PATH, emulator credentials, one shared
plans folder) and they are recorded as not run.

Expressions are evaluated only for the forms the templates use (`env.X`, `matrix.X`, `steps.S.outputs.K`,
`needs.J.outputs.K`, `needs.J.result`, `github.*` from a given table, `fromJSON(...)`, `!cancelled()`,
`always()`): anything else raises, so the runner never silently guesses.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class UnknownExpression(AssertionError):
    pass


@dataclass
class StepRun:
    job: str
    matrix: dict[str, Any]
    name: str
    kind: str  # "run" | "uses" | "skipped" (a step) | "job-skipped" (a whole job)
    returncode: int | None = None
    output: str = ""
    reason: str = ""


@dataclass
class Context:
    github: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    matrix: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, str]] = field(default_factory=dict)
    needs: dict[str, dict[str, Any]] = field(default_factory=dict)


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def _value(expr: str, ctx: Context) -> Any:
    expr = expr.strip()
    if m := re.fullmatch(r"fromJSON\((.*)\)", expr):
        return json.loads(_value(m.group(1), ctx))
    if expr in ("!cancelled()", "always()"):
        return True
    if m := re.fullmatch(r"'([^']*)'", expr):
        return m.group(1)
    parts = expr.split(".")
    try:
        if parts[0] == "env" and len(parts) == 2:
            return ctx.env[parts[1]]
        if parts[0] == "matrix" and len(parts) == 2:
            return ctx.matrix[parts[1]]
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return ctx.steps.get(parts[1], {}).get(parts[3], "")
        if parts[0] == "needs" and len(parts) == 4 and parts[2] == "outputs":
            return ctx.needs[parts[1]]["outputs"].get(parts[3], "")
        if parts[0] == "needs" and len(parts) == 3 and parts[2] == "result":
            return ctx.needs[parts[1]]["result"]
        if parts[0] == "github" and len(parts) == 2:
            return ctx.github[parts[1]]
    except KeyError as exc:
        raise UnknownExpression(f"${{{{ {expr} }}}}: {exc} is not known to this run") from None
    raise UnknownExpression(f"${{{{ {expr} }}}} is a form this runner does not evaluate: teach it, do not guess")


def evaluate(text: Any, ctx: Context) -> Any:
    """A string with `${{ }}` expressions: the value itself when the string is one expression."""
    if not isinstance(text, str):
        return text
    whole = EXPR.fullmatch(text.strip())
    if whole and text.count("${{") == 1:
        return _value(whole.group(1), ctx)
    return EXPR.sub(lambda m: str(_value(m.group(1), ctx)), text)


def jobs_for(doc: dict[str, Any], event: str) -> list[str]:
    """The jobs `event` runs (by their `if:` naming the event, or no `if:`), in an order GitHub could run them."""
    jobs = doc["jobs"]
    selected = [j for j, spec in jobs.items() if "if" not in spec or f"github.event_name == '{event}'" in spec["if"]]
    done: list[str] = []
    while len(done) < len(selected):
        ready = [j for j in selected if j not in done and all(n in done for n in _needs(jobs[j]))]
        if not ready:
            raise AssertionError(f"needs form a cycle or name an unselected job among {selected}")
        done.append(ready[0])
    return done


def _needs(spec: dict[str, Any]) -> list[str]:
    needs = spec.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def run_event(
    doc: dict[str, Any],
    event: str,
    *,
    workdir: Path,
    github: dict[str, str],
    env_overrides: dict[str, str],
    base_env: dict[str, str],
    skip_run_steps: dict[str, str],
    timeout: float = 1800,
) -> list[StepRun]:
    """Run every `run:` step of the jobs `event` selects, as GitHub would: after a failing step the job's
    later steps are skipped, and after a failed or skipped job the jobs needing it are skipped, except
    for steps and jobs whose `if:` holds `!cancelled()` or `always()`."""
    records: list[StepRun] = []
    needs_ctx: dict[str, dict[str, Any]] = {}
    tmp = workdir.parent / "runner"
    tmp.mkdir(exist_ok=True)
    wf_env = {**{k: str(v) for k, v in doc.get("env", {}).items()}, **env_overrides}
    for job in jobs_for(doc, event):
        spec = doc["jobs"][job]
        needs = {n: needs_ctx[n] for n in _needs(spec)}
        if any(n["result"] != "success" for n in needs.values()) and not _after_failure(spec.get("if")):
            needs_ctx[job] = {"outputs": {}, "result": "skipped"}
            records.append(StepRun(job, {}, "", "job-skipped", reason="a job it needs did not succeed"))
            continue
        ctx = Context(github=github, env=dict(wf_env), needs=needs)
        matrix = spec.get("strategy", {}).get("matrix", {})
        entries = evaluate(matrix["include"], ctx) if "include" in matrix else [{}]
        outputs: dict[str, str] = {}
        result = "success"
        for entry in entries:
            ctx.matrix = entry
            ctx.steps = {}
            job_env = {**wf_env, **{k: str(evaluate(v, ctx)) for k, v in spec.get("env", {}).items()}}
            added_env: dict[str, str] = {}
            failed = False
            for i, step in enumerate(spec["steps"]):
                name = str(evaluate(step.get("name", step.get("uses", f"step {i}")), ctx))
                if "uses" in step:
                    records.append(StepRun(job, entry, name, "uses", reason="GitHub's action: stood in for"))
                    continue
                if failed and not _after_failure(step.get("if")):
                    records.append(StepRun(job, entry, name, "skipped", reason="an earlier step failed"))
                    continue
                if name in skip_run_steps:
                    records.append(StepRun(job, entry, name, "skipped", reason=skip_run_steps[name]))
                    continue
                if "if" in step and evaluate(step["if"], ctx) is not True:
                    raise UnknownExpression(f"{job}/{name}: if: {step['if']} did not evaluate to true")
                ctx.env = {**job_env, **added_env}
                step_env = {k: str(evaluate(v, ctx)) for k, v in step.get("env", {}).items()}
                files = {k: tmp / f"{job}-{i}-{k}" for k in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")}
                for f in files.values():
                    f.write_text("")
                script = tmp / f"{job}-{i}.sh"
                script.write_text(step["run"])
                env = {
                    **base_env,
                    **job_env,
                    **added_env,
                    **step_env,
                    **{k: str(v) for k, v in files.items()},
                    "CI": "true",
                    "GITHUB_ACTIONS": "true",
                    "GITHUB_WORKSPACE": str(workdir),
                    "RUNNER_TEMP": str(tmp),
                }
                p = subprocess.run(
                    ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                    cwd=workdir,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
                records.append(StepRun(job, entry, name, "run", p.returncode, p.stdout + p.stderr))
                if "id" in step:
                    ctx.steps[step["id"]] = _kv(files["GITHUB_OUTPUT"].read_text())
                added_env.update(_kv(files["GITHUB_ENV"].read_text()))
                summary = files["GITHUB_STEP_SUMMARY"].read_text()
                if summary:
                    (tmp / f"{job}-summary.md").write_text(summary)
                if p.returncode != 0:
                    failed, result = True, "failure"
            ctx.env = job_env
            for k, v in spec.get("outputs", {}).items():
                outputs[k] = str(evaluate(v, ctx))
        needs_ctx[job] = {"outputs": outputs, "result": result}
    return records


def _after_failure(condition: object) -> bool:
    """Does this `if:` let a step or job run after a failure (GitHub adds `success()` otherwise)?"""
    return isinstance(condition, str) and ("!cancelled()" in condition or "always()" in condition)


def _kv(text: str) -> dict[str, str]:
    """`name=value` lines, as GitHub reads `$GITHUB_OUTPUT` and `$GITHUB_ENV` (no heredoc form used here)."""
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out
