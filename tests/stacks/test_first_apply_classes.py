"""The four classes of first-apply blockers (issue 25), held on the synthesized reference stacks of every
Kubernetes-based cloud, so that a new chart or resource cannot bring one back:

1. Webhooks behind a private control plane: every chart a GKE cluster stack installs has its webhook and
   API-service ports, derived from the chart's vendored values and templates (tests/schemas/charts), opened
   from the control plane's range to the nodes.
2. Who may talk to the cluster API: the deploying identity gets the cluster-admin role of its cloud.
3. Data-plane operations in the first apply: every resource whose create is a data-plane call has a
   network path from the runner (Azure: the runner's VNet peered and its private DNS zones linked).
4. Prerequisites: GCP resources wait for the APIs they call (all enabled by the stack), the Azure provider
   registers every resource provider the stack uses, and `verify` reports what the stack cannot do itself
   (Azure subscription features, GCP's Service Usage and Resource Manager APIs).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from mlops_blueprint.blueprints import load
from mlops_blueprint.modules.azure_common import providers_of
from mlops_blueprint.modules.gcp_common import apis_of
from mlops_blueprint.modules.k8s_common import CHARTS
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT

REFERENCES = ROOT / "blueprints" / "reference"
CHART_SOURCES = ROOT / "tests" / "schemas" / "charts"
RUNNER_VNET = yaml.safe_load((REFERENCES / "azure-claims.yaml").read_text())["target"]["runner_network"]
ADMIN_GROUP = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
# The types whose create is a data-plane call (the service's own endpoint, not the cloud's control plane).
DATA_PLANE = {
    "azure": re.compile(
        r"^azurerm_(key_vault_(key|secret|certificate)|storage_(data_lake_gen2_(filesystem|path)|container|blob|queue|share|table))$"
    ),
    "gcp": re.compile(r"^google_storage_(bucket_object|object_\w+)$"),
    "aws": re.compile(r"^aws_s3_(bucket_)?object$"),
    "kubernetes": re.compile(r"^(kubernetes_\w+|helm_release)$"),
}
# Which private DNS zone an Azure data-plane type is reached through.
AZURE_ZONES = {
    "azurerm_key_vault_": "privatelink.vaultcore.azure.net",
    "azurerm_storage_data_lake_gen2_": "privatelink.dfs.core.windows.net",
    "azurerm_storage_": "privatelink.blob.core.windows.net",
}
REF = re.compile(r"\$\{[^}]*?\b((?:data\.)?[a-z0-9]+_[a-z0-9_]+\.[A-Za-z0-9_-]+)")


def _synth(path: Path, out: Path, env: str) -> dict:
    lb = load(path)
    (r,) = synth(lb, lb.select(env), out, DeploySettings())
    return {
        "cloud": json.loads(r.json_path.read_text()),
        "cluster": json.loads(r.cluster.json_path.read_text()) if r.cluster else {},
    }


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> dict[str, dict]:
    """cloud -> the dev environment of its reference (Azure: claims with an admin group added)."""
    azure = tmp_path_factory.mktemp("bp") / "azure-claims.yaml"
    text = (REFERENCES / "azure-claims.yaml").read_text()
    azure.write_text(
        text.replace("  subscription_id:", f"  admin_group_object_ids: [{ADMIN_GROUP}]\n  subscription_id:", 1)
    )
    return {
        "aws": _synth(REFERENCES / "starter.yaml", tmp_path_factory.mktemp("aws"), "dev"),
        "gcp": _synth(REFERENCES / "gcp-vision.yaml", tmp_path_factory.mktemp("gcp"), "dev"),
        "azure": _synth(azure, tmp_path_factory.mktemp("azure"), "dev"),
    }


def resources(doc: dict, pattern: str = "") -> dict[str, dict]:
    """'type.name' -> config of every resource (and 'data.type.name' of every data source) whose type matches."""
    out = {f"{t}.{n}": c for t, by in doc.get("resource", {}).items() if re.search(pattern, t) for n, c in by.items()}
    out.update(
        {f"data.{t}.{n}": c for t, by in doc.get("data", {}).items() if re.search(pattern, t) for n, c in by.items()}
    )
    return out


def closure(doc: dict, address: str) -> set[str]:
    """Every resource `address` waits for: its depends_on and its references, transitively."""
    every = resources(doc)
    seen: set[str] = set()
    todo = [address]
    while todo:
        config = every.get(todo.pop(), {})
        text = json.dumps({k: v for k, v in config.items() if k not in ("//", "depends_on")})
        for dep in [*config.get("depends_on", []), *REF.findall(text)]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


# -- 1. webhooks behind a private control plane ----------------------------------------------------------


def vendored_webhook_ports(chart: str, version: str) -> set[int]:
    """The ports the API server calls on `chart`'s pods, from its vendored sources: every `targetPort` under a
    values key naming a webhook, and every `targetPort` of a vendored Service template (the Services behind
    the chart's APIServices, whose ports are not values)."""
    values = CHART_SOURCES / f"{chart}-{version}.values.yaml"
    assert values.is_file(), (
        f"the cluster stack installs {chart} {version}, whose values.yaml is not vendored: copy it to "
        f"{values.relative_to(ROOT)} with a .SOURCE.txt naming the tag and commit"
    )
    ports: set[int] = set()

    def walk(node: object, under_webhook: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                hook = under_webhook or "webhook" in str(key).lower()
                if key == "targetPort" and hook and isinstance(value, int):
                    ports.add(value)
                walk(value, hook)
        elif isinstance(node, list):
            for item in node:
                walk(item, under_webhook)

    walk(yaml.safe_load(values.read_text()), False)
    for template in CHART_SOURCES.glob(f"{chart}-{version}.*-service.yaml"):
        ports.update(int(p) for p in re.findall(r"^\s*targetPort:\s*(\d+)\s*$", template.read_text(), flags=re.M))
    return ports


def test_the_derivation_reads_kueue_s_webhook_and_visibility_ports():
    """The derivation itself finds something (9443: webhooks, values; 8082: the visibility APIService, template)."""
    assert vendored_webhook_ports("kueue", CHARTS["kueue"].version) == {9443, 8082}


def test_gke_control_plane_reaches_every_installed_chart_s_webhooks(stacks):
    cloud, cluster = stacks["gcp"]["cloud"], stacks["gcp"]["cluster"]
    releases = cluster["resource"]["helm_release"].values()
    assert releases, "the GCP cluster stack installs no chart"
    (gke,) = cloud["resource"]["google_container_cluster"].values()
    master = gke["private_cluster_config"]["master_ipv4_cidr_block"]
    node_accounts = {
        p["node_config"]["service_account"] for p in cloud["resource"]["google_container_node_pool"].values()
    }
    opened: set[int] = set()
    for rule in cloud["resource"]["google_compute_firewall"].values():
        if rule.get("direction") != "INGRESS" or master not in rule.get("source_ranges", []):
            continue
        targets = set(rule.get("target_service_accounts", [])) or node_accounts
        if not node_accounts <= targets:
            continue
        for allow in rule.get("allow", []):
            if allow["protocol"] in ("tcp", "all"):
                opened.update(int(p) for p in allow.get("ports", []))
    for release in releases:
        chart, version = release["chart"], release["version"]
        needed = vendored_webhook_ports(chart, version)
        assert set(CHARTS[chart].webhook_ports) == needed, (
            f"{chart} {version}: Chart.webhook_ports {CHARTS[chart].webhook_ports} != the vendored sources' {sorted(needed)}"
        )
        missing = needed - opened
        assert not missing, f"{chart}: the control plane ({master}) cannot reach ports {sorted(missing)} on the nodes"


# -- 2. who may talk to the cluster API ------------------------------------------------------------------


def test_eks_gives_the_cluster_creator_cluster_admin(stacks):
    (eks,) = stacks["aws"]["cloud"]["resource"]["aws_eks_cluster"].values()
    assert eks["access_config"] == {"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True}


def test_aks_gives_the_deploying_principal_and_the_admin_groups_cluster_admin(stacks):
    cloud = stacks["azure"]["cloud"]
    ((address, aks),) = resources(cloud, r"^azurerm_kubernetes_cluster$").items()
    rbac = aks["azure_active_directory_role_based_access_control"]
    assert rbac["azure_rbac_enabled"] is True and aks["local_account_disabled"] is True
    assert rbac["admin_group_object_ids"] == [ADMIN_GROUP]
    admins = [
        a
        for a in cloud["resource"]["azurerm_role_assignment"].values()
        if a["role_definition_name"] == "Azure Kubernetes Service RBAC Cluster Admin"
    ]
    assert [(a["scope"], re.sub(r"\.[\w-]+\.object_id", ".*.object_id", a["principal_id"])) for a in admins] == [
        (f"${{{address}.id}}", "${data.azurerm_client_config.*.object_id}")
    ]
    # the cluster stack authenticates as that principal (Azure CLI login through kubelogin)
    provider = stacks["azure"]["cluster"]["provider"]["kubernetes"][0]["exec"][0]
    assert provider["command"] == "kubelogin" and "azurecli" in provider["args"]


def test_gke_gives_the_deploying_identity_kubernetes_engine_admin(stacks):
    cloud = stacks["gcp"]["cloud"]
    admins = [
        m for m in cloud["resource"]["google_project_iam_member"].values() if m["role"] == "roles/container.admin"
    ]
    assert len(admins) == 1
    assert re.fullmatch(
        r".*\? \"serviceAccount\" : \"user\"\}:\$\{data\.google_client_openid_userinfo\.[\w-]+\.email\}",
        admins[0]["member"],
    )
    assert "token" in stacks["gcp"]["cluster"]["provider"]["kubernetes"][0]


def test_aks_private_cluster_sets_the_dns_prefix_the_provider_accepts(stacks):
    """azurerm refuses `dns_prefix_private_cluster` unless the private DNS zone is a custom one."""
    for aks in stacks["azure"]["cloud"]["resource"]["azurerm_kubernetes_cluster"].values():
        if aks.get("private_dns_zone_id", "System") in ("System", "None"):
            assert "dns_prefix_private_cluster" not in aks and aks["dns_prefix"]


# -- 3. data-plane operations in the first apply ---------------------------------------------------------


def data_plane(doc: dict, cloud: str) -> dict[str, dict]:
    return {
        a: c
        for a, c in resources(doc).items()
        if not a.startswith("data.") and DATA_PLANE[cloud].match(a.split(".")[0])
    }


def test_every_azure_data_plane_create_waits_for_the_runner_s_path(stacks):
    cloud = stacks["azure"]["cloud"]
    found = data_plane(cloud, "azure")
    kinds = {a.split(".")[0] for a in found}
    assert {
        "azurerm_key_vault_key",
        "azurerm_storage_data_lake_gen2_filesystem",
        "azurerm_storage_data_lake_gen2_path",
    } <= kinds
    peerings = set(resources(cloud, r"^azurerm_virtual_network_peering$"))
    assert len(peerings) == 2  # the platform's side and the runner's
    links = resources(cloud, r"^azurerm_private_dns_zone_virtual_network_link$")
    zones = {f"${{{a}.id}}": c["name"] for a, c in resources(cloud, r"^azurerm_private_dns_zone$").items()}
    runner = {
        zones[c["private_dns_zone_id"]]: a
        for a, c in links.items()
        if c["private_dns_zone_id"] in zones and c["virtual_network_id"] == RUNNER_VNET
    }
    assert set(runner) == set(zones.values()), "a private DNS zone does not resolve in the runner's VNet"
    for address in found:
        zone = next(z for prefix, z in AZURE_ZONES.items() if address.startswith(prefix))
        waits = closure(cloud, address)
        assert peerings <= waits, f"{address} may be created before the runner's VNet is peered"
        assert runner.get(zone) in waits, f"{address} may be created before {zone} resolves in the runner's VNet"


def test_the_cluster_stack_s_objects_are_reachable_from_the_runner(stacks):
    """Kubernetes objects are data-plane calls to a private API server: each cloud stack gives the runner a path."""
    for cloud, docs in stacks.items():
        assert data_plane(docs["cluster"], "kubernetes"), f"{cloud}: no Kubernetes object found"
    aws = stacks["aws"]["cloud"]["resource"]
    assert any(r["from_port"] == 443 for r in aws["aws_vpc_security_group_ingress_rule"].values())
    (gke,) = stacks["gcp"]["cloud"]["resource"]["google_container_cluster"].values()
    assert gke["master_authorized_networks_config"]["cidr_blocks"]
    azure = resources(stacks["azure"]["cloud"], r"^azurerm_private_dns_zone_virtual_network_link$")
    api_links = [c for a, c in azure.items() if "private_fqdn" in c["private_dns_zone_id"]]
    assert [link["virtual_network_id"] for link in api_links] == [RUNNER_VNET]


def test_aws_and_gcp_object_uploads_go_through_the_public_service_endpoint(stacks):
    """S3 and GCS objects are reached at the service's regional endpoint with IAM: no bucket policy may pin
    them to a VPC endpoint the runner is not behind."""
    aws = stacks["aws"]["cloud"]
    assert data_plane(aws, "aws"), "the AWS reference uploads no object"
    for policy in resources(aws, r"^aws_s3_bucket_policy$").values():
        assert not re.search(r"aws:Source(Vpce|Vpc)\b", json.dumps(policy)), policy
    assert not resources(stacks["gcp"]["cloud"], r"^google_access_context_manager_")


# -- 4. prerequisites -----------------------------------------------------------------------------------


def test_every_gcp_resource_waits_for_the_apis_it_calls(stacks):
    doc = stacks["gcp"]["cloud"]
    services = {c["service"]: a for a, c in resources(doc, r"^google_project_service$").items()}
    assert "binaryauthorization.googleapis.com" in services and "networkconnectivity.googleapis.com" in services
    for address, config in resources(doc, r"^google_").items():
        kind = address.removeprefix("data.").split(".")[0]
        if kind == "google_project_service":
            continue
        for api in apis_of(kind):
            assert api in services, f"{address} calls {api}, which the stack does not enable"
            assert services[api] in config.get("depends_on", []), f"{address} does not wait for {api}"


def test_the_azure_provider_registers_every_resource_provider_the_stack_uses(stacks):
    doc = stacks["azure"]["cloud"]
    (azurerm,) = [p for p in doc["provider"]["azurerm"] if "alias" not in p]
    assert azurerm["resource_provider_registrations"] == "none"
    registered = set(azurerm["resource_providers_to_register"])
    for address, config in resources(doc, r"^(azurerm_|azapi_)").items():
        kind = address.removeprefix("data.").split(".")[0]
        arm = config.get("type") if kind.startswith("azapi_") else None
        needed = providers_of(kind, arm) if not kind.startswith("azapi_") or arm else ()
        assert set(needed) <= registered, f"{address} needs {set(needed) - registered} registered"
    assert {"Microsoft.ContainerService", "Microsoft.MachineLearningServices", "Microsoft.Purview"} <= registered


class FakeResources:
    """Records ResourceManagementClient.resources.get_by_id calls; answers each feature's state."""

    def __init__(self, states: dict[str, str]):
        self.calls: list[tuple[str, str]] = []
        self.states = states
        self.resources = self

    def get_by_id(self, resource_id: str, *, api_version: str):
        self.calls.append((resource_id, api_version))
        return SimpleNamespace(properties={"state": self.states[resource_id.rsplit("/", 1)[1]]})


@pytest.mark.parametrize(("state", "ok"), [("Registered", True), ("NotRegistered", False), ("Registering", False)])
def test_azure_verify_reports_the_encryption_at_host_feature(state, ok):
    from mlops_blueprint.scripts.glue.azure import prerequisites_with

    (env,) = load(REFERENCES / "azure-claims.yaml").select("dev")
    fake = FakeResources({"EncryptionAtHost": state})
    (check,) = prerequisites_with(env, fake)
    sub = env.blueprint.target.subscription_id
    assert fake.calls == [
        (
            f"/subscriptions/{sub}/providers/Microsoft.Features/providers/Microsoft.Compute/features/EncryptionAtHost",
            "2021-07-01",
        )
    ]
    assert (check.component, check.subject, check.ok) == ("prerequisites", "Microsoft.Compute/EncryptionAtHost", ok)
    assert ok or "az feature register --namespace Microsoft.Compute --name EncryptionAtHost" in check.detail


class FakeSession:
    """Records AuthorizedSession.get calls; answers Service Usage's GetService per API."""

    def __init__(self, answers: dict[str, tuple[int, dict]]):
        self.urls: list[str] = []
        self.answers = answers

    def get(self, url: str):
        self.urls.append(url)
        status, body = self.answers[url.rsplit("/", 1)[1]]
        return SimpleNamespace(status_code=status, json=lambda: body, content=json.dumps(body).encode())


def test_gcp_verify_reports_the_apis_the_first_apply_needs():
    from mlops_blueprint.scripts.glue.gcp import prerequisites_with

    (env,) = load(REFERENCES / "gcp-vision.yaml").select("dev")
    disabled = {"error": {"code": 403, "message": "Service Usage API has not been used in project"}}
    fake = FakeSession(
        {
            "serviceusage.googleapis.com": (403, disabled),
            "cloudresourcemanager.googleapis.com": (200, {"state": "ENABLED"}),
        }
    )
    checks = {c.subject: c for c in prerequisites_with(env, fake)}
    project = env.blueprint.target.project_id
    assert fake.urls == [
        f"https://serviceusage.googleapis.com/v1/projects/{project}/services/{api}"
        for api in ("serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com")
    ]
    assert checks["cloudresourcemanager.googleapis.com"].ok is True
    bad = checks["serviceusage.googleapis.com"]
    assert (
        bad.ok is False
        and "HTTP 403" in bad.detail
        and f"gcloud services enable serviceusage.googleapis.com --project {project}" in bad.detail
    )


# -- the blueprint fields ------------------------------------------------------------------------------


def _problems(path: Path) -> list[tuple[int, str, str]]:
    from mlops_blueprint.blueprints import BlueprintError

    with pytest.raises(BlueprintError) as exc:
        load(path)
    return [(p.line, p.path, p.message) for p in exc.value.problems]


@pytest.mark.parametrize(
    ("line", "path", "says"),
    [
        (
            "  runner_network: /subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v\n",
            "target.runner_network",
            "pattern",
        ),
        ("  runner_network: vnet-ci-runners\n", "target.runner_network", "pattern"),
        ("  admin_group_object_ids: [not-a-guid]\n", "target.admin_group_object_ids[0]", "pattern"),
        (f"  admin_group_object_ids: [{ADMIN_GROUP}, {ADMIN_GROUP}]\n", "target.admin_group_object_ids", "group"),
    ],
)
def test_bad_runner_network_or_admin_groups_are_refused_at_their_line(tmp_path, line, path, says):
    text = (REFERENCES / "azure-claims.yaml").read_text()
    text = re.sub(r"(?m)^  runner_network: .*\n", line, text)
    bp = tmp_path / "claims.yaml"
    bp.write_text(text)
    found = _problems(bp)
    want = text.splitlines().index(line.rstrip("\n")) + 1
    assert [(ln, p) for ln, p, _ in found] == [(want, path)], found
    assert says in found[0][2]


def test_the_azure_fields_are_refused_on_another_cloud(tmp_path):
    text = (REFERENCES / "gcp-vision.yaml").read_text()
    bp = tmp_path / "vision.yaml"
    bp.write_text(re.sub(r"(?m)^(target: \{.*)\}$", rf"\1, admin_group_object_ids: [{ADMIN_GROUP}]}}", text, count=1))
    found = _problems(bp)
    assert [(p, "belongs to azure" in m) for _, p, m in found] == [("target.admin_group_object_ids", True)], found
