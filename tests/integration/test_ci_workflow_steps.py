"""The CI templates' own commands, run locally against the embedded emulator.

1. The GitHub workflow (ci/github/mlops-blueprint.yml) for a pull request: every `run:` step of the
   jobs a `pull_request` selects, in the order GitHub runs them (topologically over `needs`, each
   matrix entry in turn), with bash as GitHub runs it, in a temp git checkout whose branch changes
   the blueprint. The one difference from CI is `MLOPS_LOCAL_FLAG=--local` (empty in the template),
   and that this run stands in for the `uses:` actions (checkout, tools, credentials, artifacts).
   Each step must exit 0 and leave what the next job downloads: the SARIF file, a `terraform show
   -json` plan per environment, and the review markdown with the blueprint diff.
2. The Atlantis workflow that `mlops-blueprint atlantis` generates: the server's pre-workflow hook,
   then the dev project's plan steps and apply steps with the variables Atlantis sets ($DIR,
   $REPO_REL_DIR, $PROJECT_NAME, $PLANFILE, $SHOWFILE), run with `sh -c` in the project folder as
   Atlantis runs them.

Needs terraform and a provider mirror (MLOPS_PROVIDER_MIRROR) or internet, as the other integration tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_blueprint.scripts import atlantis as atlantis_lib
from tests.ci import github_runner as gh
from tests.conftest import ROOT

pytestmark = pytest.mark.integration
WORKFLOW = ROOT / "ci/github/mlops-blueprint.yml"
STARTER = ROOT / "blueprints/reference/starter.yaml"
BIN = Path(sys.executable).parent  # the venv's mlops-blueprint, python

# Run steps that only install what this venv already has (GitHub runners start empty). The test fails
# if any other run step would be skipped.
INSTALLS = {
    "Install mlops-blueprint": "the venv running the tests has it (editable install)",
    "Install checkov": "the gate uses the project's own .venv-checkov, as `make install` made it",
}
CHANGE = (
    "components.serving.endpoints.fraud-api.min_replicas: 2",
    "components.serving.endpoints.fraud-api.min_replicas: 3",
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


EXPIRED_WAIVER = """
policies:
  waivers:
    - {check: MLOPS_AWS_004, resource: data_lake.raw, reason: "kept while the archive tier is designed", owner: sec@example.com, expires: 2020-01-31}
"""


def make_checkout(root: Path, change) -> Path:
    """A repository as a user of the template has it: the blueprint at the template's default path and
    the workflow in .github/workflows; `main` holds the base, the checked-out branch `change(text)`."""
    repo = root / "repo"
    (repo / "blueprints").mkdir(parents=True)
    (repo / ".github/workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW, repo / ".github/workflows/mlops-blueprint.yml")
    text = STARTER.read_text()
    (repo / "blueprints/platform.yaml").write_text(text)
    (repo / ".gitignore").write_text("cdktf.out/\nplans/\n*.sarif\n*-review.md\n")
    who = ("-c", "user.name=t", "-c", "user.email=t@example.com")
    git(root, "init", "-q", "-b", "main", str(repo))
    git(repo, *who, "add", "-A")
    git(repo, *who, "commit", "-q", "-m", "base")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")  # what `fetch-depth: 0` gives a PR job
    git(repo, "checkout", "-q", "-b", "change")
    (repo / "blueprints/platform.yaml").write_text(change(text))
    git(repo, *who, "commit", "-q", "-am", "the change")
    return repo


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """The change: prod's fraud-api gets a third replica (a safe change: it may merge)."""
    assert CHANGE[0] in STARTER.read_text(), "the starter's prod override moved: update CHANGE"
    return make_checkout(tmp_path_factory.mktemp("ci"), lambda text: text.replace(*CHANGE))


GITHUB_CONTEXT = {
    "event_name": "pull_request",
    "base_ref": "main",
    "server_url": "https://github.com",
    "repository": "acme/platform",
    "run_id": "1",
}


def base_env(home: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        MLOPS_HOME=str(home),
        NO_COLOR="1",
        COLUMNS="200",
    )


def test_the_pull_request_jobs_run_locally_in_order(emulator, emulator_home, checkout):
    doc = gh.load(WORKFLOW)
    have_review = (
        "review"
        in subprocess.run(
            [str(BIN / "mlops-blueprint"), "--help"], capture_output=True, text=True, env=base_env(emulator_home)
        ).stdout
    )
    skip = dict(INSTALLS)
    if not have_review:  # only until the `review` command lands (issue 12); then this branch is dead
        skip["Review"] = "SKIPPED: `mlops-blueprint review` is not in this build yet"
    records = gh.run_event(
        doc,
        "pull_request",
        workdir=checkout,
        github=GITHUB_CONTEXT,
        env_overrides={"MLOPS_LOCAL_FLAG": "--local"},
        base_env=base_env(emulator_home),
        skip_run_steps=skip,
    )
    failed = [r for r in records if r.kind == "run" and r.returncode != 0]
    assert not failed, "\n\n".join(
        f"{r.job} {r.matrix} {r.name}: exit {r.returncode}\n{r.output[-3000:]}" for r in failed
    )

    # GitHub's order, every run step accounted for: run, or skipped for a stated reason.
    ran = [(r.job, r.matrix.get("env"), r.name) for r in records if r.kind == "run"]
    expected = [
        ("validate", None, "Validate the blueprint"),
        ("validate", None, "List the stacks (the plan matrix)"),
        ("check", None, "Check (the policy gate, every environment)"),
        ("plan", "dev", "Plan dev"),
        ("plan", "prod", "Plan prod"),
        ("review", None, "Review"),
        ("review", None, "Show the review in the job summary"),
        ("review", None, "Verdict"),
    ]
    if not have_review:
        expected = [x for x in expected if x[2] not in ("Review", "Show the review in the job summary", "Verdict")]
    assert ran[: len(expected)] == expected
    skipped = {r.name for r in records if r.kind == "skipped"}
    assert skipped <= set(skip), skipped

    # What each job leaves for the next one, as GitHub's artifacts would carry it.
    sarif = json.loads((checkout / "mlops-blueprint.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"], "a SARIF log with at least one run"
    assert all(run["tool"]["driver"]["name"] for run in sarif["runs"])
    for env in ("dev", "prod"):
        plan = json.loads((checkout / "plans" / f"{env}.json").read_text())
        assert plan["format_version"] and plan["planned_values"], env
        actions = {tuple(c["change"]["actions"]) for c in plan["resource_changes"]}
        assert actions == {("create",)}, f"{env}: a fresh emulator plans only creates, got {actions}"
        assert any(c["type"] == "aws_sagemaker_endpoint" for c in plan["resource_changes"]), env
    if have_review:
        review = (checkout / "mlops-blueprint-review.md").read_text()
        assert "starter-dev" in review and "starter-prod" in review
        assert "min_replicas" in review and "fraud-api" in review, review[:2000]
        status = [r for r in records if r.name == "Verdict"][0]
        assert status.returncode == 0 and "may merge" in status.output
        summary = (checkout.parent / "runner" / "review-summary.md").read_text()
        assert summary == review


def test_a_failing_gate_fails_the_pull_request_and_says_so_in_the_comment(emulator, emulator_home, tmp_path):
    """An expired waiver fails the gate: check exits 6 (its SARIF still written for code scanning), no
    plan runs, and the review job still runs and replaces the comment with why there is no review."""
    repo = make_checkout(tmp_path, lambda text: text + EXPIRED_WAIVER)
    records = gh.run_event(
        gh.load(WORKFLOW),
        "pull_request",
        workdir=repo,
        github=GITHUB_CONTEXT,
        env_overrides={"MLOPS_LOCAL_FLAG": "--local"},
        base_env=base_env(emulator_home),
        skip_run_steps=INSTALLS,
    )
    outcome = [(r.job, r.name, r.kind, r.returncode) for r in records if r.kind in ("run", "job-skipped")]
    assert outcome == [
        ("validate", "Validate the blueprint", "run", 0),
        ("validate", "List the stacks (the plan matrix)", "run", 0),
        ("check", "Check (the policy gate, every environment)", "run", 6),
        ("plan", "", "job-skipped", None),
        ("review", "Review", "run", 0),
        ("review", "Show the review in the job summary", "run", 0),
        ("review", "Verdict", "run", 1),
    ], "\n".join(r.output[-2000:] for r in records if r.kind == "run")
    check = next(r for r in records if r.job == "check" and r.kind == "run")
    assert "expired on 2020-01-31" in check.output
    assert json.loads((repo / "mlops-blueprint.sarif").read_text())["version"] == "2.1.0"
    review = (repo / "mlops-blueprint-review.md").read_text()
    assert "**may not merge**" in review and "(check: failure)" in review and "(plan: skipped)" in review
    assert "https://github.com/acme/platform/actions/runs/1" in review
    verdict = records[-1]
    assert "::error title=mlops-blueprint review::may not merge (exit 1)" in verdict.output


def test_the_generated_atlantis_workflow_plans_and_applies_dev(emulator, emulator_home, checkout, tmp_path):
    env = base_env(emulator_home)
    cli = str(BIN / "mlops-blueprint")
    p = subprocess.run(
        [cli, "atlantis", "blueprints/platform.yaml", "--output-file", "atlantis.yaml"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    config = yaml.safe_load((checkout / "atlantis.yaml").read_text())
    [project] = [pr for pr in config["projects"] if pr["name"] == "starter-dev"]
    workflow = config["workflows"][project["workflow"]]

    # The server-side hook first (Atlantis only plans a project whose folder exists), from the repo root.
    hook = atlantis_lib.PRE_WORKFLOW_HOOK.format(blueprint="blueprints/platform.yaml", outdir="cdktf.out")
    assert hook in (checkout / "atlantis.yaml").read_text()
    p = subprocess.run(["sh", "-c", hook + " --local"], cwd=checkout, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    project_dir = checkout / project["dir"]
    assert (project_dir / "cdk.tf.json").is_file()

    atlantis_env = dict(
        env,
        MLOPS_LOCAL_FLAG="--local",
        DIR=str(project_dir),
        REPO_REL_DIR=project["dir"],
        PROJECT_NAME=project["name"],
        WORKSPACE="default",
        PLANFILE=str(tmp_path / "default.tfplan"),
        SHOWFILE=str(tmp_path / "default.json"),
    )

    def run_stage(stage: str) -> list[str]:
        outputs, step_env = [], dict(atlantis_env)
        for step in workflow[stage]["steps"]:
            if "env" in step:
                step_env[step["env"]["name"]] = step["env"]["value"]
                continue
            p = subprocess.run(
                ["sh", "-c", step["run"]], cwd=project_dir, env=step_env, capture_output=True, text=True, timeout=1800
            )
            assert p.returncode == 0, f"{stage}: {step['run']}\n{(p.stdout + p.stderr)[-3000:]}"
            outputs.append(p.stdout + p.stderr)
        return outputs

    check_out, plan_out = run_stage("plan")
    assert "starter-dev" in check_out
    assert "starter-dev:" in plan_out and "to create" in plan_out
    assert (tmp_path / "default.tfplan").stat().st_size > 0
    shown = json.loads((tmp_path / "default.json").read_text())
    assert {tuple(c["change"]["actions"]) for c in shown["resource_changes"]} == {("create",)}

    [up_out] = run_stage("apply")
    assert "starter-dev" in up_out and "checks passed" in up_out, up_out[-2000:]
