"""MLOPS_AZ_024: ML workspaces are closed to public networks, with managed-network egress control."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block


@rule(
    id="MLOPS_AZ_024",
    name="ML workspaces are closed to public networks, with managed-network egress control",
    severity="high",
    category="registry",
    applies_to=("azurerm_machine_learning_workspace",),
)
def check(d: Doc):
    for addr, b in d.of("azurerm_machine_learning_workspace"):
        public = b.get("public_network_access_enabled") is not False
        egress = block(b, "managed_network").get("isolation_mode")
        problems = [
            p
            for p, bad in (
                ("public_network_access_enabled is not false", public),
                (
                    f"managed_network.isolation_mode {egress!r} allows any outbound traffic",
                    egress not in ("AllowOnlyApprovedOutbound",),
                ),
            )
            if bad
        ]
        yield addr, not problems, "; ".join(problems)
