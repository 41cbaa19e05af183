"""Blueprint model, loader and reference blueprints. Imports nothing heavy."""

from blueprints.loader import BlueprintError, LoadedBlueprint, Problem, ResolvedEnv, load

__all__ = ["BlueprintError", "LoadedBlueprint", "Problem", "ResolvedEnv", "load"]
