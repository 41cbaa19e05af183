"""Persona wiring, the same on every cloud: each persona gets exactly what the blueprint's access
block says, through the components' grant methods. A principal is whatever the cloud's components
grant to (an IAM role on AWS, an IAM member string on GCP)."""

from __future__ import annotations

from mlops_blueprint.blueprints.model import PERSONAS, Blueprint


def grant_personas(bp: Blueprint, principals: dict, *, lake=None, catalog=None, training=None, registry=None,
                   serving=None) -> None:
    for persona in PERSONAS:
        spec, who = getattr(bp.access, persona), principals[persona]
        if lake:
            lake.grant(who, read=[z for z in spec.lake.read if z in lake.zones],
                       write=[z for z in spec.lake.write if z in lake.zones], id=f"{persona}-lake")
        if catalog:
            catalog.grant(who, spec.catalog, id=f"{persona}-catalog")
        if training and spec.training:
            training.grant_submit(who, id=f"{persona}-training")
        if registry and spec.registry == "read":
            registry.grant_pull(who, id=f"{persona}-registry")
        elif registry and spec.registry == "write":
            registry.grant_push(who, id=f"{persona}-registry")
        if serving and spec.serving == "invoke":
            serving.grant_invoke(who, id=f"{persona}-serving")
        elif serving and spec.serving == "deploy":
            serving.grant_deploy(who, id=f"{persona}-serving")
