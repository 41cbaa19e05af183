"""checkov on a synthesized cdk.tf.json, offline, mapped back to blueprint components.

checkov 3.3 reads this project's cdk.tf.json with `--framework terraform_json` (checked: no crash,
resource addresses are Terraform addresses). It runs with --skip-download and no API key, so it
makes no network calls. A missing checkov, a crash, or unreadable output fails the gate.

Reports are cached by content: the same checkov on the same bytes with the same options answers from
`$MLOPS_HOME/cache/checkov` without a run (beside the synth cache of stacks/cache.py, which bounds
the folder's size). `MLOPS_NO_CACHE=1` turns that off.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from mlops_blueprint.policies.engine import Finding
from mlops_blueprint.policies.tfjson import Doc


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


# --- the report cache ------------------------------------------------------------------------------

CACHE_MAX_BYTES = 100 * 1024 * 1024  # checkov's share; stacks/cache.py bounds the whole folder


def cache_enabled() -> bool:
    return os.environ.get("MLOPS_NO_CACHE", "") in ("", "0")


def cache_dir() -> Path:
    home = Path(os.environ.get("MLOPS_HOME") or Path.home() / ".mlops-blueprint")
    return home / "cache" / "checkov"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _version(binary: str) -> str:
    """checkov's version, and every distribution it runs with, from the site-packages of the
    interpreter its script names (no process); else `checkov --version` once per binary, remembered
    by the binary's size and mtime."""
    path = Path(binary)
    st = path.stat()
    try:
        with path.open("rb") as f:
            first = f.readline(512)
    except OSError:
        first = b""
    if first.startswith(b"#!"):
        interp = Path(first[2:].decode(errors="replace").strip().split()[0])
        sites = sorted(interp.parent.parent.glob("lib/python*/site-packages"))
        if len(sites) == 1 and any(sites[0].glob("checkov-*.dist-info")):
            return " ".join(sorted(n for n in os.listdir(sites[0]) if n.endswith(".dist-info")))
    memo = cache_dir().parent / "checkov-versions.json"
    sig = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if sig not in known:
        known[sig] = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=120).stdout.strip()
        _write_atomic(memo, json.dumps(known).encode())
    return str(known[sig])


def cache_key(binary: str, stack_json: bytes, args: list[str]) -> str:
    """The stack's bytes, the options, checkov's binary and versions, and the environment checkov reads."""
    st = Path(binary).stat()
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith(("CKV_", "BC_", "CHECKOV_", "PRISMA_")))
    h = hashlib.sha256()
    for part in ("checkov", "1", binary, st.st_size, st.st_mtime_ns, _version(binary), *args, repr(env)):
        b = str(part).encode()
        h.update(len(b).to_bytes(8, "little") + b)
    h.update(stack_json)
    return h.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def load_cached(key: str, base: Path | None = None) -> str | None:
    """A stored report, or None (and the entry deleted) when it is absent, damaged or not JSON."""
    path = (base or cache_dir()) / f"{key}.json"
    if not path.is_file():
        return None
    try:
        entry = json.loads(path.read_text())
        out = entry["stdout"]
        if not isinstance(out, str) or _sha(out.encode()) != entry["sha256"]:
            raise ValueError("damaged")
        json.loads(out)
    except Exception:  # noqa: BLE001 - a damaged entry is a miss, never a wrong report
        path.unlink(missing_ok=True)
        return None
    try:
        os.utime(path)  # recently used
    except OSError:
        pass
    return out


def store(key: str, stdout: str, base: Path | None = None, limit: int = CACHE_MAX_BYTES) -> None:
    base = base or cache_dir()
    try:
        _write_atomic(base / f"{key}.json", json.dumps({"sha256": _sha(stdout.encode()), "stdout": stdout}).encode())
        entries = sorted(((p.stat().st_mtime, p.stat().st_size, p) for p in base.glob("*.json")), key=lambda e: e[0])
        total = sum(size for _, size, _ in entries)
        for _, size, p in entries:  # the least recently used go first
            if total <= limit:
                break
            p.unlink(missing_ok=True)
            total -= size
    except OSError:
        pass  # a cache that cannot be written costs speed, not the result


def _report(cmd: list[str], json_path: Path) -> str:
    """checkov's JSON report: from the cache when the same checkov already read the same bytes with the
    same options, else from a run, stored when it succeeded. cmd[1:3] is `-f <path>`: the key holds the
    file's bytes, not its path."""
    key = None
    if cache_enabled():
        try:
            key = cache_key(cmd[0], json_path.read_bytes(), cmd[3:])
        except (OSError, subprocess.SubprocessError):
            key = None
        hit = load_cached(key) if key else None
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
        store(key, proc.stdout)
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
