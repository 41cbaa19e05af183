"""How stacks are synthesized for a deployment target. Bindings-free."""

from __future__ import annotations

from dataclasses import dataclass

# The AWS provider versions the modules are written for. The bindings pin the newest; the
# embedded emulator runs whatever a mirror holds in this range (this machine's: 5.100.0).
AWS_PROVIDER_RANGE = ">= 5.100.0, <= 6.69.1"


@dataclass(frozen=True)
class DeploySettings:
    """local: target the embedded emulator (omitted: a real cloud account).
    provider_constraint: replaces the bindings' exact pin (omitted: the pin, or the range in local mode)."""

    local: bool = False
    provider_constraint: str | None = None
    max_retries: int = 2
    # Local mode under the CDK Terrain CLI: the emulator's endpoint and its dummy keys go into the
    # stack itself, since cdktn runs terraform without `mlops-blueprint`'s environment. `up --local`
    # leaves them out and passes them to terraform as environment variables instead.
    endpoint: str | None = None
    access_key: str | None = None
    secret_key: str | None = None

    @classmethod
    def for_local(cls, local: bool) -> DeploySettings:
        return cls(local=True, provider_constraint=AWS_PROVIDER_RANGE) if local else cls()
