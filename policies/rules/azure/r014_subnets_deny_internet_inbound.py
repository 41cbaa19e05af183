"""MLOPS_AZ_014: Every subnet has an NSG that denies inbound traffic from the Internet."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list, refs

# Azure refuses NSGs on these subnets; they are governed by their own service
NO_NSG_SUBNETS = ("GatewaySubnet", "AzureFirewallSubnet", "AzureFirewallManagementSubnet", "RouteServerSubnet")
INTERNET = ("Internet", "*", "0.0.0.0/0", "Any")


def _from_internet(r: dict) -> bool:
    sources = [r.get("source_address_prefix")] + as_list(r.get("source_address_prefixes"))
    return any(s in INTERNET for s in sources)


def _all_ports(r: dict) -> bool:
    return r.get("destination_port_range") == "*" and r.get("protocol") in ("*", None)


def nsg_rules(d: Doc, nsg: str, body: dict) -> list[dict]:
    """The NSG's inline security_rule blocks and the network_security_rule resources naming it."""
    out = [r for r in as_list(body.get("security_rule")) if isinstance(r, dict)]
    out += [r for _, r in d.of("azurerm_network_security_rule") if nsg in refs(r.get("network_security_group_name"))]
    return out


def denies_internet(rules: list[dict]) -> bool:
    """A Deny of all ports from the Internet, with no Allow from the Internet evaluated before it."""
    inbound = [r for r in rules if str(r.get("direction", "")).lower() == "inbound" and _from_internet(r)]
    denies = [r.get("priority", 4096) for r in inbound if r.get("access") == "Deny" and _all_ports(r)]
    allows = [r.get("priority", 4096) for r in inbound if r.get("access") == "Allow"]
    return bool(denies) and all(a > min(denies) for a in allows)


@rule(
    id="MLOPS_AZ_014",
    name="Every subnet has an NSG that denies inbound traffic from the Internet",
    severity="high",
    category="baseline",
    applies_to=("azurerm_subnet",),
)
def check(d: Doc):
    nsgs = dict(d.of("azurerm_network_security_group"))
    for addr, b in d.of("azurerm_subnet"):
        if b.get("name") in NO_NSG_SUBNETS:
            continue
        attached = {
            n
            for _, a in d.referencing("azurerm_subnet_network_security_group_association", addr, "subnet_id")
            for n in refs(a.get("network_security_group_id"))
            if n in nsgs
        }
        ok = any(denies_internet(nsg_rules(d, n, nsgs[n])) for n in attached)
        why = "no NSG is associated" if not attached else "its NSG has no Deny-all from Internet ahead of every Allow"
        yield addr, ok, "" if ok else why
