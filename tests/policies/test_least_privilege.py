"""IAM and RBAC least privilege, for every reference blueprint on every cloud (issue 14, part 3).

Each reference is retargeted to each cloud the way a user would: `init --cloud`'s target swap
(scripts/catalog.py), then the validator's own suggestions where a choice does not exist there (the
nearest accelerator, a region that offers it, no GPU sharing where the cloud has none). Every
environment is synthesized once per module (jsii is slow) and every stack is held to:

- no IAM statement allows a wildcard action (`*`, `svc:*`, `svc:Get*`, or NotAction) on a wildcard
  resource (`*` or NotResource): policy resources, inline policies and `aws_iam_policy_document` data
  sources; no AWS-managed administrator or FullAccess policy attached;
- no primitive role (roles/owner, roles/editor, roles/viewer) on GCP, no Owner, Contributor or
  access-administration role and nothing assigned at subscription scope on Azure, and no custom
  role of `*` actions;
- no Kubernetes Role or ClusterRole with `*` verbs on `*` resources, nothing bound to cluster-admin,
  and no cluster-wide admin through the cloud (EKS access policies, AKS and GKE admin roles);
- no public bucket: an all-four public access block on every S3 bucket, `public_access_prevention =
  enforced` on every GCS bucket, storage accounts with `allow_nested_items_to_be_public = false`
  and public network access off.

The last tests check that the policy packs enforce each property: a baseline rule fails a stack
that breaks it and passes every synthesized stack here.

AWS-managed service-role policies (AWSGlueServiceRole, the EKS cluster and node policies) are AWS's
own documents, which a synthesized stack names but does not contain: they are not read here.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_blueprint.blueprints import BlueprintError, load, loads, registry
from mlops_blueprint.policies.engine import all_rules, run_rule
from mlops_blueprint.policies.packs import BASELINE
from mlops_blueprint.policies.tfjson import Doc, as_list, block
from mlops_blueprint.scripts.catalog import retarget_text
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import REFERENCE

CLOUDS = registry.NAMES
COMBOS = [(path, cloud) for path in REFERENCE for cloud in CLOUDS]
NEAREST = re.compile(r"'([^']+)' is not available on \w+ \(the nearest is ([^)]+)\)")
REGION = re.compile(r"is not offered in \w+ region ([\w-]+); regions that have it: ([\w, -]+)")
SHARING = re.compile(r", sharing: \{[^}]*\}")


def retargeted(path: Path, cloud: str) -> str:
    """`path` moved to `cloud` by its target line, then by the validator's suggestions."""
    text = retarget_text(path.read_text(), load(path), cloud) if load(path).base.target.cloud != cloud else None
    text = text if text is not None else path.read_text()
    for _ in range(5):
        try:
            loads(text, name=path.name)
            return text
        except BlueprintError as exc:
            messages = [p.message for p in exc.problems]
        changed = text
        for m in filter(None, map(NEAREST.search, messages)):
            changed = re.sub(rf"(?<![\w-]){re.escape(m.group(1))}(?![\w-])", m.group(2), changed)
        for m in filter(None, map(REGION.search, messages)):
            old, offered = m.group(1), m.group(2).split(", ")
            near = [r for r in offered if r.split("-")[0] == old.split("-")[0]] or offered
            changed = changed.replace(f"region: {old}", f"region: {near[0]}")
        if any("GPU sharing" in m and "allowed: none" in m for m in messages):
            changed = SHARING.sub("", changed)
        assert changed != text, f"{path.stem} on {cloud}: no suggestion to follow in {messages}"
        text = changed
    raise AssertionError(f"{path.stem} on {cloud} does not validate after five rounds of suggestions")


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """(reference, cloud) -> [(stack name, cdk.tf.json as a dict)], each combination synthesized at most
    once per module (on first use), every environment of it."""
    memo: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    timings: dict[tuple[str, str], float] = {}

    def get(path: Path, cloud: str) -> list[tuple[str, dict]]:
        key = (path.stem, cloud)
        if key not in memo:
            started = time.monotonic()
            folder = tmp_path_factory.mktemp(f"{path.stem}-{cloud}")
            src = folder / path.name
            src.write_text(retargeted(path, cloud))
            lb = load(src)
            results = synth(lb, lb.select(None), folder / "out", DeploySettings())
            assert [r.env for r in results if r.env in lb.envs], f"{key}: no environment synthesized"
            memo[key] = [(r.json_path.parent.name, json.loads(r.json_path.read_text())) for r in results]
            timings[key] = time.monotonic() - started
        return memo[key]

    get.timings = timings  # type: ignore[attr-defined]
    return get


# --- what the test looks for (independent of the rules, which are checked against it below) --------


def statements(policy: object, data: dict) -> list[dict]:
    """The statements of an IAM policy value: a JSON document, or a reference to an
    `aws_iam_policy_document` data source (its `statement` blocks, in the AWS JSON spelling)."""
    if isinstance(policy, str) and policy.lstrip().startswith("{"):
        return [s for s in as_list(json.loads(policy).get("Statement")) if isinstance(s, dict)]
    out = []
    for name in re.findall(r"\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}", str(policy)):
        out += document_statements(data.get("aws_iam_policy_document", {}).get(name, {}))
    return out


def document_statements(doc: dict) -> list[dict]:
    spell = {"actions": "Action", "not_actions": "NotAction", "resources": "Resource", "not_resources": "NotResource"}
    return [
        {"Effect": s.get("effect", "Allow"), **{spell[k]: s[k] for k in spell if k in s}}
        for s in as_list(doc.get("statement"))
        if isinstance(s, dict)
    ]


def wildcard_on_wildcard(s: dict) -> bool:
    if s.get("Effect", "Allow") != "Allow":
        return False
    any_action = "NotAction" in s or any("*" in str(a) for a in as_list(s.get("Action")))
    any_resource = "NotResource" in s or "*" in as_list(s.get("Resource"))
    return any_action and any_resource


IDENTITY_POLICY_TYPES = ("aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy")
ATTACHMENT_TYPES = (
    "aws_iam_role_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
    "aws_iam_policy_attachment",
)
ADMIN_MANAGED = re.compile(
    r"^arn:aws:iam::aws:policy/(AdministratorAccess|PowerUserAccess|IAMFullAccess|\w*FullAccess)$"
)
EKS_ADMIN = re.compile(r"cluster-access-policy/(AmazonEKSClusterAdminPolicy|AmazonEKSAdminPolicy)$")
GCP_PRIMITIVE = {"roles/owner", "roles/editor", "roles/viewer"}
GKE_ADMIN = {"roles/container.admin", "roles/container.clusterAdmin"}
AZ_BROAD = {"Owner", "Contributor", "User Access Administrator", "Role Based Access Control Administrator"}
AKS_ADMIN = {"Azure Kubernetes Service RBAC Cluster Admin", "Azure Kubernetes Service Cluster Admin Role"}
SUBSCRIPTION_SCOPE = re.compile(r"^/subscriptions/[^/]+/?$|^\$\{data\.azurerm_subscription\.[\w-]+\.id\}$")
K8S_ROLE_TYPES = ("kubernetes_role_v1", "kubernetes_role", "kubernetes_cluster_role_v1", "kubernetes_cluster_role")
K8S_BINDING_TYPES = (
    "kubernetes_role_binding_v1",
    "kubernetes_role_binding",
    "kubernetes_cluster_role_binding_v1",
    "kubernetes_cluster_role_binding",
)
PAB_KEYS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def manifests(doc: dict, *kinds: str) -> Iterator[tuple[str, dict]]:
    for name, b in doc.get("resource", {}).get("kubernetes_manifest", {}).items():
        m = b.get("manifest") or {}
        if m.get("kind") in kinds:
            yield f"kubernetes_manifest.{name}", m


def violations(doc: dict) -> tuple[dict[str, list[str]], int]:
    """{property: [address: what]} for one stack, and how many grants, roles and buckets were read."""
    res, data = doc.get("resource", {}), doc.get("data", {})
    d = Doc(doc)
    found: dict[str, list[str]] = {}
    read = 0

    def flag(prop: str, addr: str, what: str) -> None:
        found.setdefault(prop, []).append(f"{addr}: {what}")

    # AWS: identity policies in every form, managed attachments, EKS access, buckets
    policies = [(a, b.get("policy")) for a, b in d.of(*IDENTITY_POLICY_TYPES)]
    policies += [
        (a, p.get("policy"))
        for a, b in d.of("aws_iam_role")
        for p in as_list(b.get("inline_policy"))
        if isinstance(p, dict)
    ]
    for addr, policy in policies:
        read += 1
        for s in statements(policy, data):
            if wildcard_on_wildcard(s):
                flag("wildcard action on wildcard resource", addr, json.dumps(s))
    for name, body in data.get("aws_iam_policy_document", {}).items():
        read += 1
        for s in document_statements(body):
            if wildcard_on_wildcard(s):
                flag("wildcard action on wildcard resource", f"data.aws_iam_policy_document.{name}", json.dumps(s))
    for addr, b in d.of(*ATTACHMENT_TYPES):
        read += 1
        if ADMIN_MANAGED.match(str(b.get("policy_arn"))):
            flag("wildcard action on wildcard resource", addr, str(b.get("policy_arn")))
    for addr, b in d.of("aws_eks_access_policy_association"):
        read += 1
        if EKS_ADMIN.search(str(b.get("policy_arn"))) and block(b, "access_scope").get("type") == "cluster":
            flag("cluster-wide Kubernetes admin", addr, str(b.get("policy_arn")))
    for addr, _ in d.of("aws_s3_bucket"):
        read += 1
        pab = d.referencing("aws_s3_bucket_public_access_block", addr, "bucket")
        if not any(all(b.get(k) is True for k in PAB_KEYS) for _, b in pab):
            flag("public bucket", addr, "no public access block with all four settings on")
    for addr, b in d.of("aws_s3_bucket_acl"):
        if str(b.get("acl", "")).startswith(("public", "authenticated")):
            flag("public bucket", addr, str(b.get("acl")))

    # GCP: every IAM grant, custom roles, buckets
    for rtype in res:
        if rtype.startswith("google_") and re.search(r"_iam_(member|binding)$", rtype):
            for addr, b in d.of(rtype):
                read += 1
                role = str(b.get("role"))
                if role in GCP_PRIMITIVE:
                    flag("primitive or owner role", addr, role)
                if role in GKE_ADMIN and not gke_deployer(b):
                    flag("cluster-wide Kubernetes admin", addr, role)
                members = [b.get("member"), *as_list(b.get("members"))]
                if {"allUsers", "allAuthenticatedUsers"} & set(map(str, members)):
                    flag("public bucket" if "storage" in rtype else "public grant", addr, str(members))
    for addr, b in d.of("google_project_iam_custom_role", "google_organization_iam_custom_role"):
        read += 1
        if any("*" in str(p) for p in as_list(b.get("permissions"))):
            flag("wildcard action on wildcard resource", addr, str(b.get("permissions")))
    for addr, b in d.of("google_storage_bucket"):
        read += 1
        if b.get("public_access_prevention") != "enforced":
            flag("public bucket", addr, f"public_access_prevention = {b.get('public_access_prevention')!r}")

    # Azure: role assignments and definitions, storage accounts
    for addr, b in d.of("azurerm_role_assignment"):
        read += 1
        role = str(b.get("role_definition_name") or b.get("role_definition_id"))
        if role in AZ_BROAD:
            flag("primitive or owner role", addr, role)
        if role in AKS_ADMIN and not aks_deployer(b):
            flag("cluster-wide Kubernetes admin", addr, role)
        if SUBSCRIPTION_SCOPE.match(str(b.get("scope"))):
            flag("primitive or owner role", addr, f"{role} at subscription scope {b.get('scope')}")
    for addr, b in d.of("azurerm_role_definition"):
        read += 1
        actions = [a for p in as_list(b.get("permissions")) if isinstance(p, dict) for a in as_list(p.get("actions"))]
        if "*" in actions:
            flag("wildcard action on wildcard resource", addr, "a custom role of '*' actions")
    for addr, b in d.of("azurerm_storage_account"):
        read += 1
        network_off = b.get("public_network_access") == "Disabled" or (
            b.get("public_network_access") is None and b.get("public_network_access_enabled") is False
        )
        if b.get("allow_nested_items_to_be_public") is not False or not network_off:
            flag("public bucket", addr, "public containers allowed or public network access on")

    # Kubernetes (on-prem, and any cluster stack of a cloud): roles and bindings
    roles = [(a, as_list(b.get("rule")), "verbs", "resources") for a, b in d.of(*K8S_ROLE_TYPES)]
    roles += [(a, as_list(m.get("rules")), "verbs", "resources") for a, m in manifests(doc, "Role", "ClusterRole")]
    for addr, rules, verbs, resources in roles:
        read += 1
        for r in rules:
            if isinstance(r, dict) and "*" in as_list(r.get(verbs)) and "*" in as_list(r.get(resources)):
                flag("Kubernetes role of * verbs on * resources", addr, json.dumps(r))
    bindings = [(a, str(block(b, "role_ref").get("name"))) for a, b in d.of(*K8S_BINDING_TYPES)]
    bindings += [
        (a, str((m.get("roleRef") or {}).get("name"))) for a, m in manifests(doc, "RoleBinding", "ClusterRoleBinding")
    ]
    for addr, role in bindings:
        read += 1
        if role == "cluster-admin":
            flag("cluster-wide Kubernetes admin", addr, "bound to cluster-admin")
    return found, read


# The one cluster-wide Kubernetes admin a stack may grant (issue 25): to the deploying identity itself,
# which applies the cluster stack (CRDs, webhooks, cluster-scoped Kueue objects). GKE: roles/container.admin
# to the member read from data.google_client_openid_userinfo; AKS: RBAC Cluster Admin on the cluster to
# data.azurerm_client_config's object id. Written here on their own, not taken from the rules they check.
GKE_DEPLOYER = re.compile(
    r"^(serviceAccount|user|\$\{[^}]*\}):\$\{data\.google_client_openid_userinfo\.[\w-]+\.email\}$"
)


def gke_deployer(b: dict) -> bool:
    return b.get("role") == "roles/container.admin" and bool(GKE_DEPLOYER.match(str(b.get("member", ""))))


def aks_deployer(b: dict) -> bool:
    return (
        b.get("role_definition_name") == "Azure Kubernetes Service RBAC Cluster Admin"
        and re.fullmatch(r"\$\{data\.azurerm_client_config\.[\w-]+\.object_id\}", str(b.get("principal_id")))
        is not None
        and re.fullmatch(r"\$\{azurerm_kubernetes_cluster\.[\w-]+\.id\}", str(b.get("scope"))) is not None
    )


def deployer_grants(doc: dict) -> int:
    d = Doc(doc)
    gke = [b for t in ("google_project_iam_member",) for _, b in d.of(t) if gke_deployer(b)]
    aks = [b for _, b in d.of("azurerm_role_assignment") if aks_deployer(b)]
    return len(gke) + len(aks)


@pytest.mark.parametrize(("path", "cloud"), COMBOS, ids=[f"{p.stem}-{c}" for p, c in COMBOS])
def test_every_reference_on_every_cloud_is_least_privilege(stacks, path, cloud):
    for name, doc in stacks(path, cloud):
        found, read = violations(doc)
        assert found == {}, f"{path.stem} on {cloud}, stack {name}"
        # the deployer's own cluster admin: one per stack that makes a GKE or AKS cluster, and no more
        has_cluster = any(
            t in doc.get("resource", {}) for t in ("google_container_cluster", "azurerm_kubernetes_cluster")
        )
        assert deployer_grants(doc) == (1 if has_cluster else 0), f"{path.stem} on {cloud}, stack {name}"
        assert read >= 5, f"{path.stem} on {cloud}, stack {name}: only {read} grants, roles and buckets to read"


# --- the packs enforce each property ---------------------------------------------------------------

# property -> the baseline rules that enforce it (each fails the bad stack below, and passes every
# synthesized stack above)
ENFORCED_BY = {
    "wildcard action on wildcard resource": ("MLOPS_AWS_007", "MLOPS_AWS_029"),
    "primitive or owner role": ("MLOPS_GCP_006", "MLOPS_AZ_012", "MLOPS_AZ_013"),
    "Kubernetes role of * verbs on * resources": ("MLOPS_K8S_003",),
    "cluster-wide Kubernetes admin": ("MLOPS_K8S_004", "MLOPS_AWS_030", "MLOPS_GCP_027", "MLOPS_AZ_034"),
    "public bucket": ("MLOPS_AWS_003", "MLOPS_GCP_003", "MLOPS_AZ_003"),
}

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# One stack per cloud that breaks every property once (the addresses are what the rules must name).
BAD = {
    "aws": {
        "resource": {
            "aws_iam_role": {"r": {"name": "r", "inline_policy": [{"name": "all", "policy": json.dumps(ALLOW_ALL)}]}},
            "aws_iam_role_policy": {
                "p": {"role": "r", "policy": json.dumps(ALLOW_ALL)},
                "q": {"role": "r", "policy": "${data.aws_iam_policy_document.everything.json}"},
            },
            "aws_iam_role_policy_attachment": {
                "a": {"role": "r", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}
            },
            "aws_eks_access_policy_association": {
                "e": {
                    "cluster_name": "c",
                    "principal_arn": "arn:aws:iam::123456789012:role/ds",
                    "policy_arn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                    "access_scope": {"type": "cluster"},
                }
            },
            "aws_s3_bucket": {"b": {"bucket": "open"}},
        },
        "data": {"aws_iam_policy_document": {"everything": {"statement": [{"actions": ["s3:*"], "resources": ["*"]}]}}},
    },
    "gcp": {
        "resource": {
            "google_project_iam_member": {
                "m": {"project": "p", "role": "roles/editor", "member": "user:a@example.com"},
                "k": {"project": "p", "role": "roles/container.admin", "member": "group:ml@example.com"},
            },
            "google_storage_bucket": {"b": {"name": "open", "uniform_bucket_level_access": True}},
        }
    },
    "azure": {
        "resource": {
            "azurerm_role_assignment": {
                "o": {"scope": "/subscriptions/0000", "role_definition_name": "Owner", "principal_id": "x"},
                "k": {
                    "scope": "${azurerm_kubernetes_cluster.c.id}",
                    "role_definition_name": "Azure Kubernetes Service RBAC Cluster Admin",
                    "principal_id": "x",
                },
            },
            "azurerm_storage_account": {"s": {"name": "open", "allow_nested_items_to_be_public": True}},
        }
    },
    "onprem": {
        "resource": {
            "kubernetes_cluster_role_v1": {
                "all": {
                    "metadata": [{"name": "all"}],
                    "rule": [{"api_groups": ["*"], "resources": ["*"], "verbs": ["*"]}],
                }
            },
            "kubernetes_cluster_role_binding_v1": {
                "admin": {
                    "metadata": [{"name": "admin"}],
                    "role_ref": {
                        "api_group": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "cluster-admin",
                    },
                    "subject": [{"kind": "Group", "name": "data-scientists", "api_group": "rbac.authorization.k8s.io"}],
                }
            },
        }
    },
}
BAD_FOUND = {
    "aws": {
        "wildcard action on wildcard resource": [
            "aws_iam_role_policy.p",
            "aws_iam_role_policy.q",
            "aws_iam_role.r",
            "data.aws_iam_policy_document.everything",
            "aws_iam_role_policy_attachment.a",
        ],
        "cluster-wide Kubernetes admin": ["aws_eks_access_policy_association.e"],
        "public bucket": ["aws_s3_bucket.b"],
    },
    "gcp": {
        "primitive or owner role": ["google_project_iam_member.m"],
        "cluster-wide Kubernetes admin": ["google_project_iam_member.k"],
        "public bucket": ["google_storage_bucket.b"],
    },
    "azure": {
        "primitive or owner role": ["azurerm_role_assignment.o", "azurerm_role_assignment.o"],
        "cluster-wide Kubernetes admin": ["azurerm_role_assignment.k"],
        "public bucket": ["azurerm_storage_account.s"],
    },
    "onprem": {
        "Kubernetes role of * verbs on * resources": ["kubernetes_cluster_role_v1.all"],
        "cluster-wide Kubernetes admin": ["kubernetes_cluster_role_binding_v1.admin"],
    },
}


@pytest.mark.parametrize("cloud", list(BAD))
def test_the_check_finds_every_violation_of_a_bad_stack(cloud):
    found, _ = violations(BAD[cloud])
    assert {p: [x.split(": ")[0] for x in v] for p, v in found.items()} == BAD_FOUND[cloud]


def rules_failing(doc: dict, ids: tuple[str, ...]) -> dict[str, list[str]]:
    rules = all_rules()
    d = Doc(doc)
    out = {}
    for rid in ids:
        failing = sorted(f.address for f in run_rule(rules[rid], d.subject, d) if not f.passed)
        if failing:
            out[rid] = failing
    return out


@pytest.mark.parametrize("prop", list(ENFORCED_BY))
def test_a_baseline_rule_fails_every_violation_the_test_finds(prop):
    assert set(ENFORCED_BY[prop]) <= set(BASELINE.rules), "every enforcing rule is in the baseline pack"
    expected = {a for cloud in BAD for a in BAD_FOUND[cloud].get(prop, [])}
    caught = {
        a
        for cloud in BAD
        for rid, addrs in rules_failing(BAD[cloud], ENFORCED_BY[prop]).items()
        if all_rules()[rid].cloud in (cloud, None)
        for a in addrs
    }
    assert expected <= caught | {a for a in expected if a.startswith("data.")}, expected - caught


@pytest.mark.parametrize(("path", "cloud"), COMBOS, ids=[f"{p.stem}-{c}" for p, c in COMBOS])
def test_the_enforcing_rules_pass_every_synthesized_stack(stacks, path, cloud):
    ids = tuple(
        rid for ids in ENFORCED_BY.values() for rid in ids if all_rules()[rid].cloud == registry.get(cloud).name
    )
    for name, doc in stacks(path, cloud):
        assert rules_failing(doc, ids) == {}, f"{path.stem} on {cloud}, stack {name}"


def test_synthesis_is_shared_and_timed(stacks):
    """Runs last in the module: every combination was synthesized once; the timings are printed."""
    timings = stacks.timings
    print("least-privilege synth seconds:", {f"{r}-{c}": round(t, 1) for (r, c), t in sorted(timings.items())})
    assert set(timings) == {(p.stem, c) for p, c in COMBOS}
