"""MLOPS_AZ_023: ML workspaces are encrypted with a customer-managed key and marked high business impact."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, block, refs


@rule(
    id="MLOPS_AZ_023",
    name="ML workspaces are encrypted with a customer-managed key and marked high business impact",
    severity="high",
    category="registry",
    applies_to=("azurerm_machine_learning_workspace",),
)
def check(d: Doc):
    keys = {a for a, _ in d.of("azurerm_key_vault_key")}
    for addr, b in d.of("azurerm_machine_learning_workspace"):
        cmk = bool(refs(block(b, "encryption").get("key_id")) & keys)
        hbi = b.get("high_business_impact") is True
        problems = [
            p
            for p, bad in (
                ("no encryption.key_id from this stack's vault", not cmk),
                ("high_business_impact is not true", not hbi),
            )
            if bad
        ]
        yield addr, not problems, "; ".join(problems)
