"""Azurite's blob service (npm `azurite`), installed into `.tools/azurite` on first use, as a subprocess.

Azurite answers the blob data plane (containers, metadata, blobs) for the well-known development
account `devstoreaccount1`. It does not enforce soft delete, has no blob versioning, no hierarchical
namespace, no network rules and no Entra ID-only mode: those are management-plane settings, which the
tests check on the requests instead.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

AZURITE = "azurite@3.37.0"
ROOT = Path(__file__).resolve().parents[2]
PREFIX = ROOT / ".tools" / "azurite"  # gitignored; no package.json of the project's own
BIN = PREFIX / "node_modules" / ".bin" / "azurite-blob"

ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same in every installation; not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def npm() -> str | None:
    return shutil.which("npm")


def install() -> Path:
    """`npm install` the pinned Azurite into `.tools/azurite` unless it is there; its failure is an error."""
    if BIN.exists():
        return BIN
    tool = npm()
    if tool is None:
        raise FileNotFoundError("npm is not on PATH")
    PREFIX.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(
        [tool, "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund", AZURITE],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    if p.returncode != 0 or not BIN.exists():
        raise RuntimeError(f"npm install {AZURITE} into {PREFIX} failed (exit {p.returncode}):\n{p.stdout}\n{p.stderr}")
    return BIN


def connection_string(port: int, host: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"BlobEndpoint=http://{host}:{port}/{ACCOUNT};"
    )


@contextlib.contextmanager
def azurite_blob(workdir: Path) -> Iterator[str]:
    """Install if needed, start `azurite-blob` in memory on a free loopback port, yield a connection
    string for devstoreaccount1, stop it afterwards. `workdir`: its cwd and log (Azurite writes its
    debug and telemetry files nowhere with these flags, but keep it out of the checkout)."""
    from tests.emulators import HOST, free_port, stop, wait_for_port

    binary = install()
    port = free_port()
    log = workdir / "azurite.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                str(binary),
                "--blobHost",
                HOST,
                "--blobPort",
                str(port),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
                "--silent",
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, proc, "azurite-blob", log)
        yield connection_string(port, HOST)
    finally:
        stop(proc)
