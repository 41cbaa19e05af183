"""The embedded AWS: a moto server with the project's shims, on loopback.

Run by `mlops-blueprint emulator start` as a detached process:
    python -m mlops_blueprint.scripts.emulator_server --port 4566
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class _Answer:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: tuple[str, list, bytes] | None = None


class RetriesAnswerOnce:
    """An SDK's retry of a request the emulator is running or has answered gets that answer again
    instead of running the operation twice.

    On a busy machine a client gives up waiting, and retries, while the emulator is still working on
    the first attempt, which then succeeds. Run twice, a create fails the second time (a CreateSubnet
    with "the CIDR conflicts", a CreateCrawler with "already exists") and terraform stops, though the
    object exists. AWS SDKs send the same `amz-sdk-invocation-id` on every attempt of one operation
    and count attempts in `amz-sdk-request`; a later attempt waits for the first and gets its answer.
    A server error (5xx) is not kept: its retry runs again. Reads (GET, HEAD) always run.
    """

    def __init__(self, app: WSGIApp, keep: int = 4096, wait: float = 600.0):
        self.app, self.keep, self.wait = app, keep, wait
        self.lock = threading.Lock()
        self.answers: OrderedDict[str, _Answer] = OrderedDict()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        key = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        if not key or environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self.app(environ, start_response)
        with self.lock:
            answer = self.answers.get(key)
            first = answer is None
            if answer is None:
                answer = self.answers[key] = _Answer()
                while len(self.answers) > self.keep:
                    self.answers.popitem(last=False)
        if not first:
            answer.done.wait(self.wait)
            if answer.response is not None:
                status, headers, body = answer.response
                start_response(status, headers)
                return [body]
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def record(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured["status"], captured["headers"] = status, list(headers)
            return start_response(status, headers, exc_info)

        try:
            body = b"".join(self.app(environ, record))
            if not captured["status"].startswith("5"):
                answer.response = (captured["status"], captured["headers"], body)
        finally:
            answer.done.set()
        return [body]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from mlops_blueprint.scripts import emulator_shims

    emulator_shims.install()
    app = RetriesAnswerOnce(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
