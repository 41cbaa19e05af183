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
    # Attempts per API call in local mode (the SDK's MaxAttempts: the first try and 4 retries).
    # The emulator answers a retried write once (scripts/emulator_server.py RetriesAnswerOnce), so
    # retries are safe. With 2, one connection dropped twice under CPU load failed a whole plan
    # (CI, stop 17: an SNS GetTopicAttributes read "use of closed network connection").
    max_retries: int = 5
    # Local mode under the CDK Terrain CLI: the emulator's endpoint and its dummy keys go into the
    # stack itself, since cdktn runs terraform without `mlops-blueprint`'s environment. `up --local`
    # leaves them out and passes them to terraform as environment variables instead.
    endpoint: str | None = None
    access_key: str | None = None
    secret_key: str | None = None

    @classmethod
    def for_local(cls, local: bool) -> DeploySettings:
        return cls(local=True, provider_constraint=AWS_PROVIDER_RANGE) if local else cls()
