"""checkov on a synthesized cdk.tf.json, offline, mapped back to blueprint components.

checkov 3.3 reads this project's cdk.tf.json with `--framework terraform_json` (checked: no crash,
resource addresses are Terraform addresses). It runs with --skip-download and no API key, so it
makes no network calls. A missing checkov, a crash, or unreadable output fails the gate.

Reports are cached by content (stacks/cache.py): the same checkov on the same bytes with the same
options answers from `$MLOPS_HOME/cache/checkov` without a run. `MLOPS_NO_CACHE=1` turns that off.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from mlops_blueprint.policies.engine import Finding
from mlops_blueprint.policies.tfjson import Doc
from mlops_blueprint.stacks import cache


class CheckovUnavailable(Exception):
    pass


CHECKOV_ENV = "MLOPS_CHECKOV"
# checkov lives in a virtualenv of its own (`make install` makes it): its pins would otherwise
# downgrade the project's own dependencies (boto3).
ISOLATED = Path(__file__).resolve().parent.parent / ".venv-checkov" / "bin" / "checkov"


def binary() -> str:
    """checkov: $MLOPS_CHECKOV, else `.venv-checkov/bin/checkov` next to the project, else PATH."""
    explicit = os.environ.get(CHECKOV_ENV)
    if explicit:
        if not (Path(explicit).is_file() and os.access(explicit, os.X_OK)):
            raise CheckovUnavailable(
                f"{CHECKOV_ENV}={explicit} is not an executable checkov, so the gate cannot run its built-in "
                "checks and fails closed; point it at checkov (e.g. .venv-checkov/bin/checkov) or unset it"
            )
        return explicit
    if ISOLATED.is_file() and os.access(ISOLATED, os.X_OK):
        return str(ISOLATED)
    found = shutil.which("checkov")
    if not found:
        raise CheckovUnavailable(
            "checkov is not installed, so the gate cannot run its built-in checks and fails closed; install it "
            "in a virtualenv of its own with `make install` (.venv-checkov), or point $MLOPS_CHECKOV at one"
        )
    return found


def _address(addr: str, doc: Doc) -> str:
    """checkov 3.3 names some resources `resource.<name>` in terraform_json (seen on google_* types);
    restore `type.name` so the finding maps to its component and waivers match."""
    if addr.startswith("resource."):
        name = addr.removeprefix("resource.")
        for rtype, items in doc.res.items():
            if name in items:
                return f"{rtype}.{name}"
    return addr


def _report(cmd: list[str], json_path: Path) -> str:
    """checkov's JSON report: from the cache when the same checkov already read the same bytes with the
    same options (stacks/cache.py), else from a run, stored when it succeeded."""
    key = None
    if cache.enabled():
        try:
            key = cache.checkov_key(cmd[0], json_path.read_bytes(), cmd[3:])
        except (OSError, subprocess.SubprocessError):
            key = None
        hit = cache.load_checkov(key) if key else None
        if hit is not None:
            return hit
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false", PYTHONWARNINGS="ignore")
    env.pop("BC_API_KEY", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode not in (0, 1):
        raise CheckovUnavailable(f"checkov exited {proc.returncode}: {(proc.stderr or proc.stdout)[-800:]}")
    try:
        json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise CheckovUnavailable(f"checkov printed no JSON report: {(proc.stderr or proc.stdout)[-800:]}") from None
    if key:
        cache.store_checkov(key, proc.stdout)
    return proc.stdout


def run(json_path: Path, doc: Doc, skip: dict[str, str]) -> list[Finding]:
    cmd = [
        binary(),
        "-f",
        str(json_path),
        "--framework",
        "terraform_json",
        "--skip-download",
        "--compact",
        "-o",
        "json",
        "--skip-check",
        ",".join(sorted(skip)) or "NONE",
    ]
    data = json.loads(_report(cmd, Path(json_path)))
    results = (data[0] if isinstance(data, list) else data).get("results", {})
    out = []
    for key, passed in (("passed_checks", True), ("failed_checks", False)):
        for r in results.get(key, []):
            addr = _address(r["resource"], doc)
            out.append(
                Finding(
                    r["check_id"],
                    r["check_name"],
                    (r.get("severity") or "medium").lower(),
                    "resource",
                    doc.subject(addr),
                    addr,
                    passed,
                    "" if passed else r["check_name"],
                    source="checkov",
                )
            )
    return out
