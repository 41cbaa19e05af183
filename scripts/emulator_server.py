"""The embedded AWS: a moto server with the project's shims, on loopback.

Run by `mlops-blueprint emulator start` as a detached process:
    python -m mlops_blueprint.scripts.emulator_server --port 4566
"""

from __future__ import annotations

import argparse
import signal
import threading


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    from mlops_blueprint.scripts import emulator_shims

    emulator_shims.install()
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
