"""CI helpers: the stacks a blueprint synthesizes, and an Atlantis repo config (`atlantis.yaml`) for them.

`stacks(loaded)` lists, per environment, the stack name and the folder `synth` writes it to; the CI
templates in `ci/` read it (`mlops-blueprint stacks BP --format json`) to build their plan matrix.

`atlantis_config(loaded, ...)` is a repo-level `atlantis.yaml` (version 3) with one project per stack:

- `dir` is the synthesized stack folder (`cdktf.out/stacks/<blueprint>-<env>`). Atlantis only plans a
  project whose `dir` exists in its clone, and the folder is generated, so the Atlantis server runs
  `mlops-blueprint synth` in a `pre_workflow_hooks` step first (server-side `repos.yaml`; docs/ci.md).
- `autoplan.when_modified` is the blueprint file, written relative to the project folder as Atlantis
  expects (`../../../blueprints/platform.yaml`).
- `workflow` is a custom workflow whose steps run `mlops-blueprint`: plan = `check` (the policy gate)
  then `plan` (which gates the plan: the data-loss guard), the plan copied to `$PLANFILE` and shown as
  JSON into `$SHOWFILE`; apply = `up` (synth, gate, plan, gate, apply, verify). The environment is the
  project name less the `<blueprint>-` prefix, the repository root is `$DIR` less `$REPO_REL_DIR`.
- Environments are applied in the blueprint's order: `execution_order_group` is the environment's
  position and `depends_on` names the environment before it (`dev` before `stage` before `prod`).

The keys used are those of Atlantis' repo config (`server/core/config/raw/*.go` in runatlantis/atlantis,
parsed strictly: an unknown key is an error); Atlantis publishes no JSON Schema for the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

import yaml

from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.loader import LoadedBlueprint
from mlops_blueprint.stacks import stack_name

WORKFLOW = "mlops-blueprint"
REQUIREMENTS = ("approved", "mergeable", "undiverged")  # what Atlantis accepts in *_requirements
# Empty on an Atlantis server; `--local` when the tests run the workflow against the embedded emulator.
LOCAL = '${MLOPS_LOCAL_FLAG:+"$MLOPS_LOCAL_FLAG"}'
# The server-side repos.yaml step that makes the stack folders before Atlantis looks for projects.
PRE_WORKFLOW_HOOK = 'mlops-blueprint synth "{blueprint}" --output "{outdir}"'


class NotInRepository(UserError):
    """A path the config must name relative to the repository root is outside it (exit 2)."""


@dataclass(frozen=True)
class Stack:
    env: str
    stack: str
    dir: str  # POSIX, relative to the repository root (or as `outdir` was given)

    def as_dict(self) -> dict[str, str]:
        return {"env": self.env, "stack": self.stack, "dir": self.dir}


def repo_path(path: str | PurePath, root: Path, what: str) -> PurePosixPath:
    """`path` relative to `root`, in POSIX form, refusing anything outside it."""
    p = Path(path)
    absolute = p if p.is_absolute() else root / p
    rel = os.path.relpath(os.path.normpath(absolute), os.path.normpath(root))
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        raise NotInRepository(
            f"{what} {path} is outside the repository root {root}",
            hint="run the command from the repository root, with paths inside it",
        )
    return PurePosixPath(Path(rel).as_posix())


def stacks(
    loaded: LoadedBlueprint, env: str | None = None, outdir: str | PurePath = "cdktf.out", root: Path | None = None
) -> list[Stack]:
    """Each selected environment's stack and the folder `synth --output OUTDIR` writes it to."""
    base = repo_path(outdir, root or Path.cwd(), "the output folder")
    return [
        Stack(e.name, stack_name(loaded.name, e.name), str(base / "stacks" / stack_name(loaded.name, e.name)))
        for e in loaded.select(env)
    ]


def _plan_steps(blueprint: str, outdir: str, prefix: str) -> list[dict[str, Any]]:
    # Atlantis runs each `run` with `sh -c` in the project folder ($DIR). The environment comes from
    # the project name; everything else runs from the repository root. No bashisms.
    root = 'cd "${DIR%/$REPO_REL_DIR}"'
    env = f'MLOPS_ENV="${{PROJECT_NAME#{prefix}}}"'
    args = f'"$BLUEPRINT" --env "$MLOPS_ENV" --output "{outdir}"'
    return [
        {"env": {"name": "BLUEPRINT", "value": blueprint}},
        {"run": f"{root} && {env} && mlops-blueprint check {args}"},
        {
            "run": f"{root} && {env} && mlops-blueprint plan {args} {LOCAL} && "
            f'cp "{outdir}/stacks/$PROJECT_NAME/tfplan" "$PLANFILE" && '
            f'terraform -chdir="{outdir}/stacks/$PROJECT_NAME" show -json tfplan > "$SHOWFILE"'
        },
    ]


def _apply_steps(blueprint: str, outdir: str, prefix: str) -> list[dict[str, Any]]:
    root = 'cd "${DIR%/$REPO_REL_DIR}"'
    env = f'MLOPS_ENV="${{PROJECT_NAME#{prefix}}}"'
    return [
        {"env": {"name": "BLUEPRINT", "value": blueprint}},
        {"run": f'{root} && {env} && mlops-blueprint up "$BLUEPRINT" --env "$MLOPS_ENV" --output "{outdir}" {LOCAL}'},
    ]


def atlantis_config(
    loaded: LoadedBlueprint,
    *,
    blueprint_path: str | Path | None = None,
    outdir: str | Path = "cdktf.out",
    root: Path | None = None,
    apply_requirements: tuple[str, ...] = ("approved", "mergeable", "undiverged"),
    when_modified: tuple[str, ...] = (),
    workflow: str = WORKFLOW,
) -> dict[str, Any]:
    """The repo-level `atlantis.yaml` for this blueprint: one project per stack and one custom workflow.

    `blueprint_path`: the blueprint file as the repository holds it (default: the file it was loaded
    from), relative to `root` (default: the working directory, i.e. run it from the repository root).
    `when_modified`: more repository paths (relative to the root) whose change plans every stack, such
    as the file that pins mlops-blueprint's version."""
    root = (root or Path.cwd()).resolve()
    bp = repo_path(blueprint_path or loaded.path, root, "the blueprint")
    out = repo_path(outdir, root, "the output folder")
    bad = [r for r in apply_requirements if r not in REQUIREMENTS]
    if bad:
        raise UserError(
            f"apply requirement(s) {', '.join(bad)} are not Atlantis requirements ({', '.join(REQUIREMENTS)})"
        )
    watched = [bp, *(repo_path(w, root, "a when_modified path") for w in when_modified)]
    projects: list[dict[str, Any]] = []
    previous: str | None = None
    for order, s in enumerate(stacks(loaded, None, out, root)):
        depth = len(PurePosixPath(s.dir).parts)
        up = "/".join([".."] * depth)
        project: dict[str, Any] = {
            "name": s.stack,
            "dir": s.dir,
            "workspace": "default",
            "workflow": workflow,
            "autoplan": {"enabled": True, "when_modified": [f"{up}/{w}" for w in watched]},
            "apply_requirements": list(apply_requirements),
            "execution_order_group": order,
        }
        if previous:
            project["depends_on"] = [previous]
        projects.append(project)
        previous = s.stack
    prefix = f"{loaded.name}-"
    return {
        "version": 3,
        "automerge": False,
        "parallel_plan": True,
        "parallel_apply": False,
        "projects": projects,
        "workflows": {
            workflow: {
                "plan": {"steps": _plan_steps(str(bp), str(out), prefix)},
                "apply": {"steps": _apply_steps(str(bp), str(out), prefix)},
            }
        },
    }


HEADER = """\
# Generated by `mlops-blueprint atlantis {blueprint}`: regenerate it rather than edit it.
# One project per stack. The stack folders are generated, so the Atlantis server makes them before it
# looks for projects, with this step in its server-side repos.yaml (docs/ci.md):
#   pre_workflow_hooks:
#     - run: {hook}
"""


def to_yaml(config: dict[str, Any], blueprint: str | PurePath, outdir: str | PurePath = "cdktf.out") -> str:
    """The config as `atlantis.yaml` text, headed by how it was made and the hook the server needs
    (`blueprint` and `outdir` as the repository holds them, relative to its root)."""
    hook = PRE_WORKFLOW_HOOK.format(blueprint=blueprint, outdir=outdir)
    body = yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=1000)
    return HEADER.format(blueprint=blueprint, hook=hook) + body
