"""Pieces every cloud's constructs share. Bindings-light: only the cdktn core."""

from __future__ import annotations

from cdktn import TerraformResourceLifecycle


def protect(enabled: bool) -> TerraformResourceLifecycle | None:
    """`prevent_destroy` for stateful resources when the environment protects them."""
    return TerraformResourceLifecycle(prevent_destroy=True) if enabled else None
