"""gcp-storage-emulator with GCS generation preconditions, as a subprocess (and its launcher).

Terraform's gcs backend takes its lock by writing `<prefix>/<workspace>.tflock` only if no such object
exists (`ifGenerationMatch=0`) and releases it by deleting that object only at the lock's generation.
gcp-storage-emulator ignores both conditions, so two applies would both "hold" the lock. Run as a
script, this module patches the emulator's object-writing handlers to check `ifGenerationMatch` /
`ifGenerationNotMatch` (query parameters, or the XML API's `x-goog-if-generation-match` headers)
against the stored object and answer 412 `conditionNotMet` as GCS does, then starts it with the
usual command line (`start --host ... --port ... --in-memory -q`).

The emulator serves one request at a time (a plain `http.server.HTTPServer`), so checking the
generation and then writing is atomic. The emulator's bucket insert keeps only the bucket's name,
and versioning is metadata only (no noncurrent generations are kept).

The script half imports only the standard library and the emulator: it runs with `python <this file>`.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

CONDITION_NOT_MET = "At least one of the pre-conditions you specified did not hold."
# The emulator's handlers (gcp_storage_emulator.handlers.objects) that write or remove an object.
GUARDED = ("insert", "xml_upload", "patch", "delete")


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _conditions(request) -> tuple[str | None, str | None]:
    """(ifGenerationMatch, ifGenerationNotMatch) from the JSON API's query or the XML API's headers."""
    match = _first(request.query.get("ifGenerationMatch")) or request.get_header("x-goog-if-generation-match")
    not_match = _first(request.query.get("ifGenerationNotMatch")) or request.get_header(
        "x-goog-if-generation-not-match"
    )
    return match, not_match


def _target(request) -> str | None:
    """The object a request writes: in the path, the `name` parameter, or the upload's metadata."""
    params = request.params or {}
    if params.get("object_id"):
        return params["object_id"]
    if request.query.get("name"):
        return request.query["name"][0]
    body = request.data  # multipart: {"meta": {...}, ...}; resumable start: the metadata itself
    if isinstance(body, dict):
        meta = body.get("meta") if isinstance(body.get("meta"), dict) else body
        return meta.get("name")
    return None


def _generation(storage, bucket: str, name: str | None) -> str:
    """The live object's generation, "0" when there is none (GCS's meaning of 0 in a precondition)."""
    from gcp_storage_emulator.exceptions import NotFound

    if not name:
        return "0"
    try:
        return str(storage.get_file_obj(bucket, name)["generation"])
    except NotFound:
        return "0"


def _checked(handler):
    def guarded(request, response, storage, *args, **kwargs):
        match, not_match = _conditions(request)
        if match is not None or not_match is not None:
            current = _generation(storage, (request.params or {}).get("bucket_name"), _target(request))
            if (match is not None and match != current) or (not_match is not None and not_match == current):
                _ = request.data  # read the whole body first: a client still sending would see a broken pipe
                response.status = HTTPStatus.PRECONDITION_FAILED
                response.json(
                    {
                        "error": {
                            "code": 412,
                            "message": CONDITION_NOT_MET,
                            "errors": [
                                {
                                    "domain": "global",
                                    "reason": "conditionNotMet",
                                    "message": CONDITION_NOT_MET,
                                    "locationType": "header",
                                    "location": "If-Match",
                                }
                            ],
                        }
                    }
                )
                return None
        return handler(request, response, storage, *args, **kwargs)

    guarded.unguarded = handler  # type: ignore[attr-defined]
    return guarded


def honour_preconditions() -> None:
    """Patch the emulator's routes (and the module attribute the router falls back to for
    `POST .../o?uploadType=...`) so that every object write checks the preconditions first."""
    from gcp_storage_emulator import server
    from gcp_storage_emulator.handlers import objects

    wrapped = {}
    for name in GUARDED:
        original = getattr(objects, name)
        if hasattr(original, "unguarded"):
            return  # already done
        wrapped[original] = _checked(original)
        setattr(objects, name, wrapped[original])
    for _pattern, routes in server.HANDLERS:
        for method, handler in list(routes.items()):
            if handler in wrapped:
                routes[method] = wrapped[handler]


# -------------------------------------------------------------------------------- the pytest side


@contextlib.contextmanager
def gcs_emulator(log_dir: Path) -> Iterator[str]:
    """Start the emulator (preconditions honoured, in memory) on a free loopback port; yield its base
    URL (`http://127.0.0.1:<port>`, the SDK's api_endpoint; Terraform wants `<url>/storage/v1/`)."""
    from tests.emulators import HOST, free_port, stop, wait_for_port

    port = free_port()
    log = log_dir / "gcs-emulator.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "start",
                "--host",
                HOST,
                "--port",
                str(port),
                "--in-memory",
                "-q",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, proc, "gcp-storage-emulator", log)
        yield f"http://{HOST}:{port}"
    finally:
        stop(proc)


def storage_client(endpoint: str):
    """A google.cloud.storage.Client on the emulator (anonymous: the emulator checks no credentials)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project="emulated", credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint}
    )


if __name__ == "__main__":
    from gcp_storage_emulator.__main__ import main

    honour_preconditions()
    sys.exit(main())
