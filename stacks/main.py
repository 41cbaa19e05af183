"""Entry point for the CDK Terrain CLI (`cdktn synth`, `cdktn deploy <stack>`), see cdktf.json.

The blueprint comes from MLOPS_BLUEPRINT (default: the starter); MLOPS_LOCAL=1 targets the emulator.
"""

from __future__ import annotations

import os
import sys

from cdktn import App

from mlops_blueprint.blueprints import load
from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.stacks import build
from mlops_blueprint.stacks.settings import DeploySettings


def main() -> None:
    path = os.environ.get("MLOPS_BLUEPRINT", "blueprints/reference/starter.yaml")
    try:
        loaded = load(path)
        app = App()
        build(app, loaded, loaded.select(os.environ.get("MLOPS_ENV")),
              DeploySettings.for_local(os.environ.get("MLOPS_LOCAL") == "1"))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    app.synth()


if __name__ == "__main__":
    main()
