"""Synth tests of the on-prem foundation (baseline, data lake, catalog, registry) on the research reference
blueprint, asserted by resources and their properties. The stack is a bare TerraformStack with the
kubernetes and helm providers made by the test; the persona grants are those the composition makes."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml
from cdktn import TerraformStack
from cdktn import Testing as CdkTesting
from cdktn_provider_helm.provider import HelmProvider
from cdktn_provider_kubernetes.provider import KubernetesProvider

from mlops_blueprint.blueprints import load, loads
from mlops_blueprint.blueprints.model import PERSONAS, Catalog, Database
from mlops_blueprint.modules.baseline.onprem import BaselineProps, OnpremBaseline
from mlops_blueprint.modules.catalog.onprem import CatalogProps, OnpremCatalog
from mlops_blueprint.modules.data_lake.onprem import DataLakeProps, OnpremDataLake, seaweed_ttl
from mlops_blueprint.modules.onprem_common import CHARTS
from mlops_blueprint.modules.registry.onprem import OnpremRegistry, RegistryProps
from mlops_blueprint.stacks.onprem.names import PLANES, OnpremNames
from tests.conftest import ROOT

RESEARCH = ROOT / "blueprints/reference/onprem-research.yaml"
PSA = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}
STATEFUL_RELEASES = ("lake", "mlflow", "harbor")


def labels(env) -> dict[str, str]:
    md = env.blueprint.metadata
    return {
        "mlops.io/blueprint": md.name,
        "mlops.io/environment": env.name,
        "mlops.io/owner": md.owner.replace("@", "-at-"),
        "app.kubernetes.io/managed-by": "mlops-blueprint",
    }


def build(env_name: str, *, text: str | None = None) -> tuple[dict, dict]:
    lb = loads(text) if text else load(RESEARCH)
    env = lb.envs[env_name]
    bp = env.blueprint
    names = OnpremNames(bp.metadata.name, env_name)
    protect = env.settings.protect_stateful
    stack = TerraformStack(CdkTesting.app(), "test")
    KubernetesProvider(stack, "kubernetes", config_context=bp.target.kube_context)
    HelmProvider(stack, "helm", kubernetes={"config_context": bp.target.kube_context})
    base = OnpremBaseline(
        stack,
        "baseline",
        props=BaselineProps(
            naming=names,
            spec=bp.baseline,
            target=bp.target,
            notify=("ops@example.com",),
            labels=labels(env),
            protect=protect,
        ),
    )
    c = bp.components
    lake = OnpremDataLake(
        stack, "data_lake", props=DataLakeProps(naming=names, spec=c.data_lake, baseline=base, protect=protect)
    )
    catalog = OnpremCatalog(
        stack, "catalog", props=CatalogProps(naming=names, spec=c.catalog, baseline=base, lake=lake, protect=protect)
    )
    registry = OnpremRegistry(
        stack, "registry", props=RegistryProps(naming=names, spec=c.registry, baseline=base, protect=protect)
    )
    for persona in PERSONAS:
        spec, who = getattr(bp.access, persona), base.personas[persona]
        lake.grant(
            who,
            read=[z for z in spec.lake.read if z in lake.zones],
            write=[z for z in spec.lake.write if z in lake.zones],
            id=f"{persona}-lake",
        )
        catalog.grant(who, spec.catalog, id=f"{persona}-catalog")
        if spec.registry == "read":
            registry.grant_pull(who, id=f"{persona}-registry")
        elif spec.registry == "write":
            registry.grant_push(who, id=f"{persona}-registry")
    doc = json.loads(CdkTesting.synth(stack))
    return doc, {"baseline": base, "lake": lake, "catalog": catalog, "registry": registry, "names": names}


@pytest.fixture(scope="module")
def prod():
    return build("prod")


@pytest.fixture(scope="module")
def dev():
    return build("dev")


def res(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


def md(r: dict) -> dict:
    m = r["metadata"]
    return m[0] if isinstance(m, list) else m


def manifests(doc: dict, kind: str) -> list[dict]:
    return [r["manifest"] for r in res(doc, "kubernetes_manifest").values() if r["manifest"]["kind"] == kind]


def releases(doc: dict) -> dict[str, dict]:
    return {r["name"]: r for r in res(doc, "helm_release").values()}


def values(rel: dict) -> dict:
    return yaml.safe_load(rel["values"][0])


def in_ns(doc: dict, rtype: str, ns: str) -> list[dict]:
    return [r for r in res(doc, rtype).values() if md(r).get("namespace") == ns]


# -- baseline ------------------------------------------------------------------------------------------


def test_plane_and_persona_namespaces_carry_env_and_restricted_psa(prod):
    doc, k = prod
    names = k["names"]
    by_name = {md(r)["name"]: r for r in res(doc, "kubernetes_namespace_v1").values()}
    expected = [names.namespace(p) for p in PLANES] + [names.namespace("personas")]
    assert k["baseline"].namespaces == {p: names.namespace(p) for p in PLANES}
    for ns in expected:
        lab = md(by_name[ns])["labels"]
        assert lab["mlops.io/environment"] == "prod"
        for key, value in PSA.items():
            assert lab[key] == value, (ns, key)
        assert lab["pod-security.kubernetes.io/enforce-version"] == "v1.35"
        assert by_name[ns]["lifecycle"] == {"prevent_destroy": True}


def test_every_namespace_has_default_deny_quota_and_limits(prod):
    doc, _ = prod
    for ns_res in res(doc, "kubernetes_namespace_v1").values():
        ns = md(ns_res)["name"]
        denies = [p for p in in_ns(doc, "kubernetes_network_policy_v1", ns) if md(p)["name"] == "default-deny"]
        assert len(denies) == 1, ns
        spec = denies[0]["spec"]
        spec = spec[0] if isinstance(spec, list) else spec
        assert spec["pod_selector"] == {} and sorted(spec["policy_types"]) == ["Egress", "Ingress"]
        assert "ingress" not in spec and "egress" not in spec
        dns = [p for p in in_ns(doc, "kubernetes_network_policy_v1", ns) if md(p)["name"] == "allow-dns"]
        assert dns and dns[0]["spec"]["egress"][0]["to"][0]["namespace_selector"]["match_labels"] == {
            "kubernetes.io/metadata.name": "kube-system"
        }
        (quota,) = in_ns(doc, "kubernetes_resource_quota_v1", ns)
        hard = quota["spec"]["hard"]
        for key in (
            "requests.cpu",
            "requests.memory",
            "limits.cpu",
            "limits.memory",
            "pods",
            "persistentvolumeclaims",
            "requests.nvidia.com/gpu",
        ):
            assert key in hard, (ns, key)
        gpus = int(hard["requests.nvidia.com/gpu"])
        assert (gpus > 0) == ns.endswith(("-training", "-serving")), ns
        if ns.endswith("-personas"):
            assert hard["pods"] == "0"
        (limits,) = in_ns(doc, "kubernetes_limit_range_v1", ns)
        item = limits["spec"]["limit"][0]
        assert item["type"] == "Container" and item["default"]["cpu"] and item["default_request"]["memory"]


def test_one_service_account_per_persona_and_nothing_bound_by_the_baseline(prod):
    doc, k = prod
    personas_ns = k["names"].namespace("personas")
    sas = in_ns(doc, "kubernetes_service_account_v1", personas_ns)
    assert sorted(md(s)["name"] for s in sas) == sorted(p.replace("_", "-") for p in PERSONAS)
    assert all(s["automount_service_account_token"] is False for s in sas)
    for p, principal in k["baseline"].personas.items():
        assert principal.namespace == personas_ns
        assert principal.group == f"mlops:research-prod:{p.replace('_', '-')}"
    # The baseline's own bindings (the secret store reader) name no persona.
    for rb in res(doc, "kubernetes_role_binding_v1").values():
        if "baseline" in json.dumps(rb.get("//", {})) or md(rb)["name"] == "secret-store-read":
            assert all(s["namespace"] != personas_ns for s in rb["subject"] if s["kind"] == "ServiceAccount")
    baseline_bindings = [key for key in res(doc, "kubernetes_role_binding_v1") if key.startswith("baseline_")]
    assert baseline_bindings == [key for key in baseline_bindings if "secret-store" in key]


def test_secret_store_pinned_and_cluster_store_scoped(prod):
    doc, k = prod
    rels = releases(doc)
    eso = rels["research-prod-external-secrets"]
    assert eso["version"] == CHARTS["external-secrets"].version == "2.9.0"
    assert eso["chart"] == "external-secrets" and eso["namespace"] == "research-prod-system"
    assert values(eso)["image"]["tag"] == "v2.9.0"
    (store,) = manifests(doc, "ClusterSecretStore")
    assert store["metadata"]["name"] == k["baseline"].secret_store
    prov = store["spec"]["provider"]["kubernetes"]
    assert prov["remoteNamespace"] == "research-prod-secrets"
    assert "research-prod-personas" not in store["spec"]["conditions"][0]["namespaces"]
    assert rels["research-prod-cloudnative-pg"]["version"] == "0.29.0"


# -- lake ----------------------------------------------------------------------------------------------


def test_in_cluster_store_one_private_versioned_bucket_per_zone(prod):
    doc, k = prod
    lake = k["lake"]
    rel = releases(doc)["research-prod-lake"]
    assert rel["chart"] == "seaweedfs" and rel["version"] == "4.44.0"
    assert rel["namespace"] == "research-prod-data"
    v = values(rel)
    assert v["s3"]["enableAuth"] is True and v["s3"]["existingConfigSecret"] == "lake-s3-config"
    assert v["filer"]["encryptVolumeData"] is True
    buckets = {bk["name"]: bk for bk in v["s3"]["createBuckets"]}
    assert set(lake.zones.values()) <= set(buckets)
    assert lake.zones == {z: f"research-prod-{z}" for z in ("raw", "curated", "features")}
    for name in lake.zones.values():
        assert buckets[name]["anonymousRead"] is False
        assert buckets[name]["versioning"] == "Enabled"
    assert buckets["research-prod-raw"]["ttl"] == "5y"  # retention_days raw: 1825
    assert "ttl" not in buckets["research-prod-curated"]
    assert all(bk["anonymousRead"] is False for bk in buckets.values())
    assert lake.endpoint == "http://lake-s3.research-prod-data.svc:8333"
    # Per-zone identities in the store: a read key limited to its bucket.
    (cfg,) = [m for m in manifests(doc, "ExternalSecret") if m["metadata"]["name"] == "lake-s3-config"]
    ident = cfg["spec"]["target"]["template"]["data"]["seaweedfs_s3_config"]
    parsed = json.loads(re.sub(r"\{\{ index \. \"[^\"]+\" \}\}", "x", ident))
    by_name = {i["name"]: i["actions"] for i in parsed["identities"]}
    assert by_name["curated-read"] == ["Read:research-prod-curated", "List:research-prod-curated"]
    assert "Write:research-prod-raw" in by_name["raw-write"]
    assert not any(a in ("Admin", "Write") for a in by_name["curated-read"])


def test_seaweed_ttl():
    assert [seaweed_ttl(d) for d in (30, 255, 365, 400, 1825)] == ["30d", "255d", "1y", "58w", "5y"]


def _lake_rules(doc: dict, persona: str) -> list[dict]:
    roles = [r for r in res(doc, "kubernetes_role_v1").values() if md(r)["name"] == f"{persona}-lake"]
    return [rule for r in roles for rule in r["rule"]]


def test_data_scientist_reads_curated_and_features_without_write_credentials(prod):
    doc, _ = prod
    rules = _lake_rules(doc, "data-scientists")
    secrets = {n for r in rules for n in r["resource_names"]}
    assert secrets == {"lake-curated-read", "lake-features-read"}
    assert all(r["verbs"] == ["get"] and r["resources"] == ["secrets"] for r in rules)
    assert not any(s.endswith("-write") for s in secrets)
    assert {n for r in _lake_rules(doc, "data-engineers") for n in r["resource_names"]} == {
        "lake-raw-write",
        "lake-curated-write",
        "lake-features-write",
    }
    assert _lake_rules(doc, "app-consumers") == []
    (binding,) = [b for b in res(doc, "kubernetes_role_binding_v1").values() if md(b)["name"] == "data-scientists-lake"]
    assert {s["kind"] for s in binding["subject"]} == {"ServiceAccount", "Group"}


EXTERNAL = RESEARCH.read_text().replace(
    "ingress_class: nginx,", "ingress_class: nginx, object_store: https://s3.corp.example:9443,"
)


def test_external_object_store_variant():
    assert "object_store" in EXTERNAL
    doc, k = build("prod", text=EXTERNAL)
    assert "research-prod-lake" not in releases(doc)
    assert k["lake"].endpoint == "https://s3.corp.example:9443"
    (job,) = [j for j in manifests(doc, "Job") if j["metadata"]["name"] == "lake-buckets"]
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    for bucket in k["lake"].zones.values():
        assert f"create-bucket --bucket {bucket}" in script
        assert f"put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled" in script
        assert f"put-bucket-encryption --bucket {bucket}" in script
        assert f"put-public-access-block --bucket {bucket}" in script
    assert '"Expiration": {"Days": 1825}' in script
    assert "NoncurrentDays" in script
    creds = [m for m in manifests(doc, "ExternalSecret") if m["metadata"]["name"].startswith("lake-raw-")]
    assert {c["spec"]["target"]["template"]["data"]["AWS_ENDPOINT_URL_S3"] for c in creds} == {
        "https://s3.corp.example:9443"
    }
    assert not manifests(doc, "Password") or all(  # only the registry's own generated secrets remain
        g["metadata"]["namespace"] == "research-prod-registry" for g in manifests(doc, "Password")
    )


# -- catalog -------------------------------------------------------------------------------------------


def test_catalog_one_database_per_catalog_database(prod):
    doc, k = prod
    (listing,) = [m for m in manifests(doc, "ConfigMap") if m["metadata"]["name"] == "catalog-databases"]
    sql = listing["data"]["databases.sql"]
    assert sql.count("CREATE DATABASE IF NOT EXISTS") == 2
    assert (
        "CREATE DATABASE IF NOT EXISTS genomics COMMENT 'sequencing runs and variant calls' "
        "LOCATION 's3a://research-prod-raw/genomics.db';" in sql
    )
    assert "LOCATION 's3a://research-prod-features/features.db'" in sql
    (job,) = [j for j in manifests(doc, "Job") if j["metadata"]["name"].startswith("catalog-databases-")]
    assert job["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == "catalog-databases"
    (deploy,) = manifests(doc, "Deployment")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "apache/hive:4.1.0"
    clusters = {m["metadata"]["name"]: m for m in manifests(doc, "Cluster")}
    assert clusters["catalog-db"]["spec"]["bootstrap"]["initdb"]["database"] == "metastore"
    reads = [r for r in res(doc, "kubernetes_role_v1").values() if md(r)["name"] == "data-scientists-catalog"]
    assert reads and not any("pods/portforward" in rule["resources"] for rule in reads[0]["rule"])


def test_catalog_database_naming_a_missing_zone_fails(prod):
    """The loader refuses this blueprint first; the construct refuses such props on its own too."""
    _, k = prod
    spec = Catalog(databases={"genomics": Database(zones=["raw", "gold"])})
    scope = TerraformStack(CdkTesting.app(), "failing")
    with pytest.raises(ValueError, match=r"genomics.*'gold'.*data lake lacks.*raw, curated, features"):
        OnpremCatalog(
            scope,
            "catalog",
            props=CatalogProps(naming=k["names"], spec=spec, baseline=k["baseline"], lake=k["lake"], protect=True),
        )
    with pytest.raises(ValueError, match=r"no data_lake component"):
        OnpremCatalog(
            scope,
            "catalog2",
            props=CatalogProps(naming=k["names"], spec=spec, baseline=k["baseline"], lake=None, protect=True),
        )


# -- registry ------------------------------------------------------------------------------------------


def test_mlflow_database_and_artifacts_in_the_lake(prod):
    doc, k = prod
    reg = k["registry"]
    rel = releases(doc)["research-prod-mlflow"]
    assert rel["chart"] == "mlflow" and rel["version"] == "1.11.5" and rel["namespace"] == "research-prod-registry"
    v = values(rel)
    assert v["backendStore"]["postgres"]["enabled"] is True
    assert v["backendStore"]["postgres"]["host"] == "mlflow-db-rw"
    assert v["backendStore"]["existingDatabaseSecret"]["name"] == "mlflow-db-app"
    assert v["artifactRoot"]["s3"]["bucket"] == "research-prod-model-artifacts" == k["lake"].artifacts_bucket
    assert v["extraEnvVars"]["MLFLOW_S3_ENDPOINT_URL"] == k["lake"].endpoint
    clusters = {m["metadata"]["name"]: m for m in manifests(doc, "Cluster")}
    assert clusters["mlflow-db"]["metadata"]["namespace"] == "research-prod-registry"
    assert reg.tracking_uri == "http://mlflow.research-prod-registry.svc:5000"
    assert reg.models == {"variant-caller": "research-prod-variant-caller", "cohort-risk": "research-prod-cohort-risk"}
    assert (
        reg.image_uri("cohort-risk", "1.2")
        == "registry.research-prod.mlops.internal/research-prod-models/cohort-risk:1.2"
    )
    lake_buckets = {bk["name"] for bk in values(releases(doc)["research-prod-lake"])["s3"]["createBuckets"]}
    assert "research-prod-model-artifacts" in lake_buckets


def test_harbor_with_trivy_and_external_database(prod):
    doc, _ = prod
    rel = releases(doc)["research-prod-harbor"]
    assert rel["chart"] == "harbor" and rel["version"] == "1.19.1"
    v = values(rel)
    assert v["trivy"]["enabled"] is True
    assert v["database"]["type"] == "external" and v["database"]["external"]["existingSecret"] == "harbor-db-app"
    assert v["persistence"]["resourcePolicy"] == "keep"
    assert "harborAdminPassword" not in v


# -- across the foundation -----------------------------------------------------------------------------


def test_no_wildcard_rbac_anywhere(prod):
    doc, _ = prod
    for rtype in ("kubernetes_role_v1", "kubernetes_cluster_role_v1", "kubernetes_role", "kubernetes_cluster_role"):
        for r in res(doc, rtype).values():
            for rule in r.get("rule", []):
                for key in ("verbs", "resources", "api_groups"):
                    assert "*" not in rule.get(key, []), (rtype, md(r)["name"], rule)
    for kind in ("Role", "ClusterRole"):
        for m in manifests(doc, kind):
            for rule in m.get("rules", []):
                assert "*" not in rule.get("verbs", []) and "*" not in rule.get("resources", [])


def _tags(obj) -> list[str]:
    out = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "tag" and isinstance(value, str):
                out.append(value)
            elif key == "image" and isinstance(value, str):
                out.append(value.rsplit(":", 1)[-1] if ":" in value.split("/")[-1] else "latest")
            else:
                out += _tags(value)
    elif isinstance(obj, list):
        for item in obj:
            out += _tags(item)
    return out


VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@pytest.mark.parametrize("variant", ["in-cluster", "external"])
def test_releases_exact_versions_and_no_latest_images(prod, variant):
    doc = prod[0] if variant == "in-cluster" else build("prod", text=EXTERNAL)[0]
    for rel in res(doc, "helm_release").values():
        assert VERSION.match(rel["version"]), rel["version"]
        assert all(t and t != "latest" for t in _tags(values(rel))), rel["name"]
    for m in res(doc, "kubernetes_manifest").values():
        assert "latest" not in _tags(m["manifest"])
    for job in manifests(doc, "Job") + manifests(doc, "Deployment"):
        for c in job["spec"]["template"]["spec"]["containers"]:
            assert not c["image"].endswith(":latest") and ":" in c["image"]


def test_values_validate_against_vendored_chart_schemas(prod):
    """Helm validates the coalesced values (chart defaults + ours); ours alone must fit every property
    and type the schema declares (its `required` lists are met by the chart's defaults)."""
    doc, _ = prod
    by_chart = {rel["chart"]: rel for rel in res(doc, "helm_release").values()}
    checked = 0
    for chart in CHARTS.values():
        if chart.values_schema is None or chart.chart not in by_chart:
            continue
        schema = json.loads((ROOT / chart.values_schema).read_text())

        def drop_required(node):
            # `required` inside not/if/anyOf/oneOf decides which branch applies: keep it there.
            if isinstance(node, dict):
                node.pop("required", None)
                for k, v in node.items():
                    if k not in ("not", "if", "anyOf", "oneOf"):
                        drop_required(v)
            elif isinstance(node, list):
                for v in node:
                    drop_required(v)

        drop_required(schema)
        jsonschema.validate(values(by_chart[chart.chart]), schema)
        checked += 1
    assert checked >= 3


def test_stateful_releases_protected_only_when_protect(prod, dev):
    for (doc, _), protected in ((prod[0], prod[1]), True), ((dev[0], dev[1]), False):
        rels = releases(doc)
        for short in STATEFUL_RELEASES:
            rel = rels[f"research-{'prod' if protected else 'dev'}-{short}"]
            assert (rel.get("lifecycle") == {"prevent_destroy": True}) is protected, short
        for m in res(doc, "kubernetes_manifest").values():
            if m["manifest"]["kind"] == "Cluster":
                assert (m.get("lifecycle") == {"prevent_destroy": True}) is protected
