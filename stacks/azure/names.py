"""Azure physical names, computed once: the modules, `verify`, `rollout` and the validator use these.

Azure's rules differ by resource: storage accounts are 3-24 lowercase letters and digits and globally
unique; Key Vaults 3-24 letters, digits and hyphens, globally unique (and a purged-protected vault's
name stays reserved for its retention days); container registries 5-50 alphanumerics, globally unique;
AKS Linux node pools 1-12 lowercase alphanumerics; online endpoints 3-32 characters, unique per region.
Names carry no random suffix: the same blueprint always names the same resources.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from mlops_blueprint.blueprints.naming import NameRuleError, Naming, bounded

if TYPE_CHECKING:
    from mlops_blueprint.blueprints.model import Blueprint

_ALNUM = re.compile(r"^[a-z0-9]+$")


def storage_account(name: str) -> str:
    if not 3 <= len(name) <= 24:
        raise NameRuleError(
            f"Azure storage account name {name!r} is {len(name)} characters; Azure allows 3 to 24 "
            "(shorten metadata.name or the environment name)"
        )
    if not _ALNUM.match(name):
        raise NameRuleError(f"Azure storage account name {name!r} may hold only lowercase letters and digits")
    return name


def key_vault(name: str) -> str:
    if not 3 <= len(name) <= 24:
        raise NameRuleError(
            f"Azure Key Vault name {name!r} is {len(name)} characters; Azure allows 3 to 24 "
            "(shorten metadata.name or the environment name)"
        )
    if not re.match(r"^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*[a-zA-Z0-9]$", name):
        raise NameRuleError(
            f"Azure Key Vault name {name!r} must start with a letter, end with a letter or digit, and "
            "hold only letters, digits and single hyphens"
        )
    return name


def container_registry(name: str) -> str:
    if not 5 <= len(name) <= 50:
        raise NameRuleError(f"Azure Container Registry name {name!r} is {len(name)} characters; Azure allows 5 to 50")
    if not re.match(r"^[a-zA-Z0-9]+$", name):
        raise NameRuleError(f"Azure Container Registry name {name!r} may hold only letters and digits")
    return name


def node_pool(name: str) -> str:
    if not re.match(r"^[a-z][a-z0-9]{0,11}$", name):
        raise NameRuleError(
            f"AKS node pool name {name!r} must be 1 to 12 lowercase letters and digits, starting with a "
            "letter (the pool's name without its hyphens; shorten the pool name)"
        )
    return name


def online_endpoint(name: str) -> str:
    if not 3 <= len(name) <= 32:
        raise NameRuleError(f"Azure ML online endpoint name {name!r} is {len(name)} characters; Azure allows 3 to 32")
    if not re.match(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$", name):
        raise NameRuleError(
            f"Azure ML online endpoint name {name!r} must start with a letter and hold only letters, digits and hyphens"
        )
    return name


class AzureNames(Naming):
    """`<kind>-<blueprint>-<env>[-<logical>]` where hyphens are allowed, `<blueprint><env><code>` where not."""

    @property
    def compact(self) -> str:
        """The prefix without hyphens, for names that allow only letters and digits."""
        return self.prefix.replace("-", "")

    def dashed(self, kind: str, *parts: str, limit: int = 80, what: str = "Azure resource") -> str:
        return bounded("-".join((kind, self.prefix, *parts)), limit, what, r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*[a-zA-Z0-9_]$")

    @property
    def resource_group(self) -> str:
        return self.dashed("rg", limit=90, what="resource group")

    @property
    def vnet(self) -> str:
        return self.dashed("vnet", limit=64, what="virtual network")

    @property
    def key_vault(self) -> str:
        return key_vault(f"kv-{self.prefix}")

    @property
    def lake_account(self) -> str:
        """The ADLS Gen2 account of the data lake (`dl`)."""
        return storage_account(f"{self.compact}dl")

    @property
    def workspace_account(self) -> str:
        """The Azure ML workspace's own storage (`ml`): model artifacts, versioned."""
        return storage_account(f"{self.compact}ml")

    @property
    def container_registry(self) -> str:
        return container_registry(f"acr{self.compact}")

    @property
    def workspace(self) -> str:
        return bounded(f"mlw-{self.prefix}", 33, "Azure ML workspace", r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$")

    @property
    def cluster(self) -> str:
        return self.dashed("aks", limit=63, what="AKS cluster")

    @property
    def log_analytics(self) -> str:
        return self.dashed("log", limit=63, what="Log Analytics workspace")

    @property
    def purview(self) -> str:
        return bounded(f"pview-{self.prefix}", 63, "Purview account", r"^[a-zA-Z0-9][a-zA-Z0-9-]{1,61}[a-zA-Z0-9]$")

    @property
    def action_group(self) -> str:
        return self.dashed("ag", limit=260, what="action group")

    @property
    def action_group_short(self) -> str:
        return self.compact[:12]

    def identity(self, purpose: str) -> str:
        """A user-assigned managed identity: a persona (`data-engineers`) or a workload (`aks`, `cmk`)."""
        return self.dashed("id", purpose.replace("_", "-"), limit=128, what="managed identity")

    def key(self, purpose: str) -> str:
        return f"cmk-{purpose}"

    def node_pool(self, pool: str) -> str:
        return node_pool(pool.replace("-", ""))

    def endpoint(self, name: str) -> str:
        return online_endpoint(self.name(name))

    def workbook_id(self) -> str:
        """Workbooks are named by a UUID: derived from the prefix, so it is stable."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mlops-blueprint/{self.prefix}/workbook"))

    def state_account(self, override: str | None = None) -> str:
        return storage_account(override or f"{self.compact}tf")

    @property
    def state_resource_group(self) -> str:
        return self.dashed("rg", "tfstate", limit=90, what="resource group")

    STATE_CONTAINER = "tfstate"


def name_checks(bp: Blueprint, n: Naming) -> Iterator[tuple[tuple[str | int, ...], Callable[[], object]]]:
    assert isinstance(n, AzureNames)
    c = bp.components
    state = ("state", "bucket") if bp.state.bucket else ("metadata", "name")
    yield state, lambda: n.state_account(bp.state.bucket)
    yield ("metadata", "name"), lambda: n.key_vault
    yield ("metadata", "name"), lambda: n.resource_group
    if c.data_lake:
        yield ("metadata", "name"), lambda: n.lake_account
    if c.registry:
        yield ("metadata", "name"), lambda: n.workspace_account
        yield ("metadata", "name"), lambda: n.container_registry
        yield ("metadata", "name"), lambda: n.workspace
    for pool in c.training.pools if c.training else {}:
        yield ("components", "training", "pools", pool), lambda p=pool: n.node_pool(p)  # type: ignore[misc]
    for ep in c.serving.endpoints if c.serving else {}:
        yield ("components", "serving", "endpoints", ep), lambda e=ep: n.endpoint(e)  # type: ignore[misc]
