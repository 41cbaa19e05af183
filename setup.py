"""Packaging: the five rooms at the repository root install as one package, `mlops_blueprint`.

`blueprints/`, `stacks/`, `modules/`, `policies/` and `scripts/` stay at the root (where a reader
looks for them), and are imported as `mlops_blueprint.blueprints`, ... The root `__init__.py` is
the package itself (the public API). Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

ROOMS = ("blueprints", "stacks", "modules", "policies", "scripts")
found = find_packages(include=[p for r in ROOMS for p in (r, f"{r}.*")], exclude=["*.fixtures", "*.fixtures.*"])

setup(
    package_dir={"mlops_blueprint": "."},
    packages=["mlops_blueprint", *(f"mlops_blueprint.{p}" for p in found)],
)
