"""Blueprint model, loader and reference blueprints. Imports nothing heavy."""

from mlops_blueprint.blueprints.loader import (
    BlueprintError,
    LoadedBlueprint,
    Problem,
    ResolvedEnv,
    from_dict,
    load,
    loads,
)

__all__ = ["BlueprintError", "LoadedBlueprint", "Problem", "ResolvedEnv", "from_dict", "load", "loads"]
