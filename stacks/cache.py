"""A content-addressed cache for synth output, so that a second `check` of an unchanged blueprint
does not pay for the provider bindings' import. (checkov's reports are cached beside it, in
`cache/checkov`, by policies/checkov_runner.py: the policies may not import the stacks.)

Where: `$MLOPS_HOME/cache` (default `~/.mlops-blueprint/cache`), shared by every output folder.
`MLOPS_NO_CACHE=1` turns it off. It holds at most `MAX_BYTES`; the least recently used entries go first.

A synth entry's key hashes everything the synthesized JSON can depend on:
- the blueprint: the file's bytes, the base document and every environment's resolved document and
  settings, and which environments were asked for in which order;
- the deploy settings (local mode, provider constraint, endpoint);
- the package's code: every file under the installed `mlops_blueprint` package (not only .py/.json/.j2:
  the modules read other data files too). Each file's content hash is remembered by (size, mtime_ns)
  and re-read when either changes, or when the file changed too recently to trust its mtime (git's
  "racily clean" rule);
- the versions: Python, every installed distribution (the `*.dist-info` names carry their versions:
  cdktn, jsii, constructs, the provider bindings) and the node binary jsii runs on.

Every stored file carries its SHA-256; an entry that fails the check, cannot be parsed or is missing
a file is deleted and counts as a miss, so a damaged cache never gives a wrong result, only a slow
one. `evict` bounds the whole cache folder (synth and checkov entries).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

FORMAT = "1"  # bump when the entry layout or the key's recipe changes
MAX_BYTES = 200 * 1024 * 1024
RACY_SECONDS = 2.0  # a file changed this close to when its hash was remembered is hashed again
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the installed mlops_blueprint package
SKIP_DIRS = {"__pycache__", ".terraform", ".git", ".venv", ".venv-checkov", "node_modules"}
ROOMS = ("blueprints", "stacks", "modules", "policies", "scripts")


def enabled() -> bool:
    return os.environ.get("MLOPS_NO_CACHE", "") in ("", "0")


def root() -> Path:
    home = Path(os.environ.get("MLOPS_HOME") or Path.home() / ".mlops-blueprint")
    return home / "cache"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest(parts: Iterable[object]) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode()
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


# --- what the key is made of ---------------------------------------------------------------------


def _package_files(base: Path) -> list[Path]:
    files = [base / "__init__.py"] if (base / "__init__.py").is_file() else []
    stack = [base / r for r in ROOMS if (base / r).is_dir()]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS:
                        stack.append(Path(entry.path))
                elif entry.is_file() and not entry.name.endswith((".pyc", ".pyo")):
                    files.append(Path(entry.path))
    return sorted(files)


_CODE: dict[Path, str] = {}


def code_hash(base: Path = PACKAGE_ROOT, memo_dir: Path | None = None) -> str:
    """The package's code: the content hashes of all its files, each re-read only when its size or
    mtime changed since it was last hashed (or when that happened too recently to be sure)."""
    if base in _CODE and memo_dir is None:
        return _CODE[base]
    memo_path = (memo_dir or root()) / f"code-{_digest([base])[:16]}.json"
    try:
        memo = json.loads(memo_path.read_text())
        assert isinstance(memo, dict)
    except (OSError, ValueError, AssertionError):
        memo = {}
    now = time.time()
    fresh, parts, changed = {}, [], False
    for f in _package_files(base):
        rel = f.relative_to(base).as_posix()
        st = f.stat()
        known = memo.get(rel)
        trusted = (
            isinstance(known, list)
            and len(known) == 4
            and known[0] == st.st_size
            and known[1] == st.st_mtime_ns
            and known[3] - st.st_mtime_ns / 1e9 > RACY_SECONDS  # hashed well after its last change
        )
        if trusted and isinstance(known, list):
            digest, since = known[2], known[3]
        else:
            digest, since, changed = _sha(f.read_bytes()), now, True
        fresh[rel] = [st.st_size, st.st_mtime_ns, digest, since]
        parts += [rel, digest]
    if changed or len(fresh) != len(memo):
        _write_atomic(memo_path, json.dumps(fresh).encode())
    result = _digest(parts)
    if memo_dir is None:
        _CODE[base] = result
    return result


def versions() -> list[str]:
    """Python, every installed distribution with its version, and the node binary (jsii runs on it)."""
    out = [sys.version, sys.executable]
    for p in sys.path:
        if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p):
            out += sorted(n for n in os.listdir(p) if n.endswith((".dist-info", ".egg-info", ".pth")))
    node = shutil.which("node")
    if node:
        real = os.path.realpath(node)
        st = os.stat(real)
        out += [real, str(st.st_size), str(st.st_mtime_ns)]
    return out


def _dump(model: Any) -> str:
    return model.model_dump_json() if hasattr(model, "model_dump_json") else repr(model)


def blueprint_parts(loaded: Any, envs: list[Any]) -> list[object]:
    """The blueprint as synth sees it: the file, the base document, every environment resolved."""
    path = Path(loaded.path)
    parts: list[object] = [loaded.name, str(path)]
    try:
        parts.append(path.read_bytes())
    except OSError:
        parts.append(b"")  # loaded from a string or a dict: its documents below are the content
    parts.append(_dump(loaded.base))
    for name in sorted(loaded.envs):
        e = loaded.envs[name]
        parts += [name, _dump(e.blueprint), _dump(e.settings)]
    parts += ["selected", *(e.name for e in envs)]
    return parts


def synth_key(loaded: Any, envs: list[Any], settings: object) -> str:
    return _digest(["synth", FORMAT, code_hash(), *versions(), repr(settings), *blueprint_parts(loaded, envs)])


# --- entries --------------------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _drop(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def evict(limit: int = MAX_BYTES, base: Path | None = None) -> None:
    """Keep the cache under `limit` bytes: the least recently used entries go first."""
    base = base or root()
    entries = []
    for kind in ("synth", "checkov"):
        d = base / kind
        if not d.is_dir():
            continue
        for e in d.iterdir():
            try:
                size = sum(f.stat().st_size for f in e.rglob("*") if f.is_file()) if e.is_dir() else e.stat().st_size
                entries.append((e.stat().st_mtime, size, e))
            except OSError:
                continue
    total = sum(s for _, s, _ in entries)
    for _, size, e in sorted(entries, key=lambda x: x[0]):
        if total <= limit:
            break
        _drop(e)
        total -= size


# --- synth ----------------------------------------------------------------------------------------


def _snapshot(dirs: Iterable[Path]) -> dict[Path, tuple[int, int]]:
    out = {}
    for d in dirs:
        if not d.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(d):
            dirnames[:] = [n for n in dirnames if n not in SKIP_DIRS]
            for n in filenames:
                p = Path(dirpath, n)
                try:
                    st = p.stat()
                except OSError:
                    continue
                out[p] = (st.st_size, st.st_mtime_ns)
    return out


def _encode_result(result: Any, outdir: Path) -> dict | None:
    """A result dataclass as JSON (paths relative to outdir, nested results, e.g. an environment's
    cluster stack, as results), or None when it holds anything else."""
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        return None
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(result):
        v = getattr(result, f.name)
        if isinstance(v, Path):
            try:
                fields[f.name] = {"path": v.resolve().relative_to(outdir.resolve()).as_posix()}
            except ValueError:
                return None
        elif dataclasses.is_dataclass(v):
            inner = _encode_result(v, outdir)
            if inner is None:
                return None
            fields[f.name] = {"result": inner}
        elif v is None or isinstance(v, (str, int, float, bool)):
            fields[f.name] = v
        else:
            return None
    cls = type(result)
    return {"class": [cls.__module__, cls.__qualname__], "fields": fields}


def _decode_result(data: dict, outdir: Path) -> Any:
    module, qualname = data["class"]
    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    fields = {}
    for k, v in data["fields"].items():
        if isinstance(v, dict) and "path" in v:
            v = outdir / v["path"]
        elif isinstance(v, dict):
            v = _decode_result(v["result"], outdir)
        fields[k] = v
    return cls(**fields)


def _directories(results: Iterable[Any]) -> list[Path]:
    """Every folder the results name, nested results included."""
    out: list[Path] = []
    for r in results:
        if dataclasses.is_dataclass(r) and not isinstance(r, type):
            for f in dataclasses.fields(r):
                v = getattr(r, f.name)
                if isinstance(v, Path) and v.is_dir():
                    out.append(v)
                elif dataclasses.is_dataclass(v):
                    out += _directories([v])
    return out


def load_synth(key: str, outdir: Path, base: Path | None = None) -> list[Any] | None:
    """Restore a synth entry into outdir; None (and the entry dropped) when absent or damaged."""
    entry = (base or root()) / "synth" / key
    meta_path = entry / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        files = {}
        for rel, digest in meta["files"].items():
            data = (entry / "files" / rel).read_bytes()
            if _sha(data) != digest or rel.startswith("/") or ".." in Path(rel).parts:
                raise ValueError(f"damaged cache file {rel}")
            files[rel] = data
        results = [_decode_result(r, outdir) for r in meta["results"]]
    except Exception:  # noqa: BLE001 - any damage is a miss, never a wrong result
        _drop(entry)
        return None
    for rel, data in files.items():
        dest = outdir / rel
        if dest.is_file() and dest.read_bytes() == data:
            continue  # unchanged: keep its mtime, so terraform and make see no change
        _write_atomic(dest, data)
    _touch(entry)
    return results


def store_synth(key: str, outdir: Path, results: list[Any], written: list[Path], base: Path | None = None) -> bool:
    encoded = [_encode_result(r, outdir) for r in results]
    if any(e is None for e in encoded):
        return False
    base = base or root()
    files = {}
    for p in written:
        rel = p.resolve().relative_to(outdir.resolve()).as_posix()
        files[rel] = p.read_bytes()
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=_mkdir(base / "synth")))
    try:
        for rel, data in files.items():
            (tmp / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / "files" / rel).write_bytes(data)
        meta = {"format": FORMAT, "results": encoded, "files": {rel: _sha(d) for rel, d in files.items()}}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        entry = base / "synth" / key
        _drop(entry)
        try:
            os.rename(tmp, entry)
        except OSError:
            return False  # another process stored the same key meanwhile
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    evict(base=base)
    return True


def _mkdir(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    return d


def synth(
    loaded: Any, envs: list[Any], outdir: Path, settings: Any, run: Callable[[], list[Any]], usable: bool = True
) -> list[Any]:
    """`run()` (the real synth) behind the cache. Every stack folder synth writes, whatever their
    number, and manifest.json are stored, and restored on a hit."""
    outdir = Path(outdir)
    if not (usable and enabled()):
        return run()
    try:
        key = synth_key(loaded, envs, settings)
    except Exception:  # noqa: BLE001 - a key that cannot be made means no cache, not a failure
        return run()
    hit = load_synth(key, outdir)
    if hit is not None:
        return hit
    before = _snapshot([outdir / "stacks"]) | _snapshot_file(outdir / "manifest.json")
    results = run()
    after = _snapshot(_directories(results)) | _snapshot_file(outdir / "manifest.json")
    written = sorted(p for p, sig in after.items() if before.get(p) != sig or p.name == "cdk.tf.json")
    try:
        store_synth(key, outdir, results, written)
    except OSError:
        pass  # a cache that cannot be written costs speed, not the result
    return results


def _snapshot_file(p: Path) -> dict[Path, tuple[int, int]]:
    try:
        st = p.stat()
    except OSError:
        return {}
    return {p: (st.st_size, st.st_mtime_ns)}
