"""A deployed environment's outputs: the stable contract other tools read (README, "Outputs").

Each cloud's stacks declare the same output names (`Kit.outputs` in `stacks/<cloud>/stack.py`): maps
keyed by the blueprint's logical names (zones, databases, pools, models, endpoints, personas). This
module reads them back through Terraform: it synthesizes the environment's stack, runs `terraform
init` against the environment's own state backend and `terraform output -json`. It changes nothing:
no state bootstrap, no plan, no apply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.loader import LoadedBlueprint

# The contract: name -> (type, what it holds). Every cloud declares these when the component exists;
# `CLOUD_ONLY` lists the few that only some clouds have. Tests hold every cloud's stacks to it.
CONTRACT: dict[str, tuple[str, str]] = {
    "persona_roles": ("map(string)", "persona -> the principal components grant to"),
    "lake_buckets": ("map(string)", "lake zone -> bucket (Azure: ADLS filesystem)"),
    "catalog_databases": ("map(string)", "catalog database -> the cloud's database"),
    "training_pools": ("map(string)", "pool -> NodePool / node pool / ClusterQueue"),
    "registry_repositories": ("map(string)", "model -> image repository"),
    "registry_model_groups": ("map(string)", "model -> model group in the model registry"),
    "endpoints": ("map(string)", "endpoint -> the cloud's endpoint name"),
    "endpoint_urls": ("map(string)", "endpoint -> invoke URL"),
    "alert_topic": ("string", "where alerts go"),
}
COMPONENT_OF: dict[str, str] = {
    "lake_buckets": "data_lake",
    "catalog_databases": "catalog",
    "training_pools": "training",
    "registry_repositories": "registry",
    "registry_model_groups": "registry",
    "endpoints": "serving",
    "endpoint_urls": "serving",
    "alert_topic": "monitoring",
}
FORMATS = ("json", "table")


class NothingDeployed(UserError):
    """The environment's state holds no outputs: it was never deployed, or it was destroyed (exit 2)."""


def expected_names(loaded: LoadedBlueprint, env: str) -> list[str]:
    """The contract names an environment's stack declares, given its components."""
    comps = loaded.select(env)[0].blueprint.components
    return sorted(n for n in CONTRACT if n not in COMPONENT_OF or getattr(comps, COMPONENT_OF[n]) is not None)


def read(
    loaded: LoadedBlueprint,
    env: str | None = None,
    *,
    local: bool = False,
    mirror: str | None = None,
    outdir: Path | None = None,
    events: Any = None,
) -> dict[str, dict[str, Any]]:
    """env -> {output name: value} for each selected environment, read from its Terraform state."""
    from mlops_blueprint.scripts import pipeline
    from mlops_blueprint.scripts.terraform import Terraform

    sink = events or pipeline._quiet
    target = pipeline._target(loaded, local, mirror, sink, start=False)
    results = pipeline.synth(loaded, env, outdir, local, sink)
    out: dict[str, dict[str, Any]] = {}
    for e, r in zip(loaded.select(env), results, strict=True):
        tf = Terraform(r.directory, stack=r.stack, env=dict(target.env), mirror=target.mirror)
        tf.init()
        values = tf.outputs()
        if not values:
            raise NothingDeployed(
                f"{r.stack} has no outputs in its state: deploy it first (mlops-blueprint up ... --env {e.name})"
            )
        out[e.name] = values
    return out


def render_json(values: Mapping[str, Mapping[str, Any]], env: str | None) -> str:
    """One environment: its outputs object; several: env -> outputs."""
    doc: Any = values[env] if env else dict(values)
    return json.dumps(doc, indent=2, sort_keys=True)


def rows(values: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(output, key, value) rows for a table: one row per map entry, one per string."""
    out = []
    for name in sorted(values):
        v = values[name]
        if isinstance(v, Mapping):
            out += [(name, str(k), str(v[k])) for k in sorted(v)]
        else:
            out.append((name, "", str(v)))
    return out
