"""The cluster stack `<blueprint>-<env>-cluster` on aws/gcp/azure: its providers come from the cloud
stack's cluster (data sources by name), it is ordered after the cloud stack (cdktn dependency; `up`
applies it second, `down` destroys it first, `--local` validates and gates it without applying), its
objects validate against the Kubernetes OpenAPI and the vendored CRD schemas, and every object the
GPU jobs guide (docs/gpu-jobs.md) names exists in the synthesized stacks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import kubernetes_validate
import pytest
import yaml

from mlops_blueprint.blueprints import load
from mlops_blueprint.modules.cluster import validate
from mlops_blueprint.modules.cluster.aws import node_pool
from mlops_blueprint.scripts import pipeline
from mlops_blueprint.scripts.events import Note
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT
from tests.modules.conftest import retarget

REFERENCES = ROOT / "blueprints" / "reference"
README = (ROOT / "docs" / "gpu-jobs.md").read_text()  # the GPU jobs guide, linked from the README
BIN = ROOT / ".tools" / "node_modules" / ".bin"


def _synth(path: Path, out: Path) -> dict:
    """env -> {"cloud": doc, "cluster": doc | None, "version": k8s minor, "out": outdir}."""
    lb = load(path)
    docs = {}
    for r in synth(lb, lb.select(None), out, DeploySettings()):
        env = lb.select(r.env)[0]
        docs[r.env] = {
            "cloud": json.loads(r.json_path.read_text()),
            "cluster": json.loads(r.cluster.json_path.read_text()) if r.cluster else None,
            "cluster_stack": r.cluster.stack if r.cluster else None,
            "version": env.blueprint.components.training.kubernetes_version
            if env.blueprint.components.training
            else None,
        }
    docs["_manifest"] = json.loads((out / "manifest.json").read_text())
    return docs


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """cloud -> the synthesized reference of that cloud (AWS starter, the starter retargeted to GCP, Azure claims)."""
    gcp = tmp_path_factory.mktemp("gcp") / "starter-gcp.yaml"
    gcp.write_text(retarget((REFERENCES / "starter.yaml").read_text()))
    return {
        "aws": _synth(REFERENCES / "starter.yaml", tmp_path_factory.mktemp("aws")),
        "gcp": _synth(gcp, tmp_path_factory.mktemp("gcp-out")),
        "azure": _synth(REFERENCES / "azure-claims.yaml", tmp_path_factory.mktemp("azure")),
    }


# -- the README's path ----------------------------------------------------------------------------------


def readme_path_objects() -> list[tuple[str, str, str, str | None]]:
    """(cloud, stack, terraform type, kind or chart) from the README's marked list."""
    block = re.search(r"<!-- gpu-path:begin -->\n(.*?)<!-- gpu-path:end -->", README, flags=re.S)
    assert block, "README lost the GPU path list (<!-- gpu-path:begin --> ... <!-- gpu-path:end -->)"
    out = []
    for line in block.group(1).splitlines():
        m = re.fullmatch(r"- `(aws|gcp|azure) (cloud|cluster) ([a-z0-9_]+)(?:/([\w-]+))?`: .+", line)
        assert m, f"README GPU path line not in the `<cloud> <stack> <type>[/<kind>]: ...` form: {line!r}"
        out.append((m[1], m[2], m[3], m[4]))
    return out


PATH_OBJECTS = readme_path_objects()


def test_the_readme_path_covers_every_cloud_and_step():
    assert {c for c, *_ in PATH_OBJECTS} == {"aws", "gcp", "azure"}
    for cloud in ("aws", "gcp", "azure"):
        kinds = {k for c, _, _, k in PATH_OBJECTS if c == cloud}
        assert {"LocalQueue", "ClusterQueue", "ResourceFlavor", "kueue"} <= kinds, cloud


@pytest.mark.parametrize("cloud,stack,rtype,kind", PATH_OBJECTS, ids=lambda v: str(v))
def test_every_object_the_readme_names_exists(stacks, cloud, stack, rtype, kind):
    for env, docs in stacks[cloud].items():
        if env.startswith("_"):
            continue
        found = docs[stack]["resource"].get(rtype, {})
        if kind and rtype == "kubernetes_manifest":
            found = {k: v for k, v in found.items() if v["manifest"]["kind"] == kind}
        elif kind and rtype == "helm_release":
            found = {k: v for k, v in found.items() if v["chart"] == kind}
        assert found, f"{cloud} {env} {stack} stack has no {rtype} {kind or ''}"


def test_the_readme_job_is_a_valid_job_for_the_queue(stacks):
    [job] = [yaml.safe_load(y) for y in re.findall(r"```yaml\n(.*?)```", README, flags=re.S) if "kind: Job" in y]
    kubernetes_validate.validate(job, "1.34.0", strict=True)
    docs = stacks["aws"]["dev"]
    [lq] = [
        v["manifest"]
        for v in docs["cluster"]["resource"]["kubernetes_manifest"].values()
        if v["manifest"]["kind"] == "LocalQueue"
    ]
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == lq["metadata"]["name"]
    # The pool's GPU alerts select pods by this label (GCP: metadata.user_labels; Kueue sets no pod label).
    assert job["spec"]["template"]["metadata"]["labels"]["mlops.io/pool"] == lq["metadata"]["name"]
    assert job["metadata"]["namespace"] == lq["metadata"]["namespace"]
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 1}


# -- schemas -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_cluster_stack_objects_validate_against_kubernetes_and_crd_schemas(stacks, cloud):
    assert validate.available() is None
    problems, checked = [], 0
    for env, docs in stacks[cloud].items():
        if env.startswith("_"):
            continue
        n, errs = validate.stack_errors(docs["cluster"], docs["version"])
        checked += n
        problems += [f"{cloud} {env}: {e}" for e in errs]
    assert checked >= 3 and not problems, "\n".join(problems)


def test_a_broken_node_pool_is_refused_by_the_vendored_schema():
    good = node_pool(
        "gpu-a",
        accelerator="nvidia-l4",
        instance="g6.xlarge",
        spot=True,
        gpus=4,
        labels={},
        node_class="gpu-disk-200gi",
    )
    assert validate.object_errors(good, "1.34") == []
    bad = json.loads(json.dumps(good))
    bad["spec"]["template"]["spec"]["taints"][0]["effect"] = "NO_SCHEDULE"  # the EKS API's spelling, not Kubernetes'
    del bad["spec"]["disruption"]["consolidateAfter"]
    errors = validate.object_errors(bad, "1.34")
    assert any("effect" in e for e in errors) and any("consolidateAfter" in e for e in errors), errors


# -- providers and order --------------------------------------------------------------------------------------


def test_aws_cluster_stack_providers_come_from_the_cluster(stacks):
    doc = stacks["aws"]["dev"]["cluster"]
    assert doc["data"]["aws_eks_cluster"]["cluster"]["name"] == "starter-dev-training"
    assert doc["data"]["aws_eks_cluster_auth"]["cluster-auth"]["name"] == "starter-dev-training"
    [k8s] = doc["provider"]["kubernetes"]
    assert k8s["host"] == "${data.aws_eks_cluster.cluster.endpoint}"
    assert k8s["token"] == "${data.aws_eks_cluster_auth.cluster-auth.token}"
    assert (
        k8s["cluster_ca_certificate"] == "${base64decode(data.aws_eks_cluster.cluster.certificate_authority[0].data)}"
    )
    [helm] = doc["provider"]["helm"]
    assert helm["kubernetes"]["host"] == k8s["host"] and helm["kubernetes"]["token"] == k8s["token"]
    assert doc["terraform"]["backend"]["s3"]["key"] == "starter/dev/cluster.tfstate"
    assert stacks["aws"]["dev"]["cloud"]["terraform"]["backend"]["s3"]["key"] == "starter/dev/terraform.tfstate"


def test_gcp_and_azure_cluster_stack_providers_come_from_the_cluster(stacks):
    gcp = stacks["gcp"]["dev"]["cluster"]
    assert gcp["data"]["google_container_cluster"]["cluster"]["name"] == "starter-dev-training"
    [k8s] = gcp["provider"]["kubernetes"]
    assert k8s["host"] == "https://${data.google_container_cluster.cluster.endpoint}"
    assert k8s["token"] == "${data.google_client_config.client.access_token}"
    azure = stacks["azure"]["dev"]["cluster"]
    cluster = azure["data"]["azurerm_kubernetes_cluster"]["cluster"]
    assert cluster["name"] == "aks-claims-dev" or cluster["name"].startswith("aks-claims-dev")
    [k8s] = azure["provider"]["kubernetes"]
    assert k8s["host"] == "${data.azurerm_kubernetes_cluster.cluster.kube_config[0].host}"
    assert k8s["exec"][0]["command"] == "kubelogin" and "get-token" in k8s["exec"][0]["args"]
    assert azure["terraform"]["backend"]["azurerm"]["key"] == "claims/dev/cluster.tfstate"


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_the_cluster_stack_depends_on_its_cloud_stack(stacks, cloud):
    manifest = stacks[cloud]["_manifest"]["stacks"]
    clusters = {n: s for n, s in manifest.items() if n.endswith("-cluster")}
    envs = [e for e in stacks[cloud] if not e.startswith("_")]
    assert len(clusters) == len(envs)
    for name, s in clusters.items():
        assert s["dependencies"] == [name.removesuffix("-cluster")]


def test_no_cluster_stack_without_training(tmp_path):
    doc = yaml.safe_load((REFERENCES / "starter.yaml").read_text())
    del doc["components"]["training"]
    del doc["environments"]["dev"]["overrides"]["components.training.pools.gpu-a.max_nodes"]
    path = tmp_path / "no-training.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    lb = load(path)
    assert all(r.cluster is None for r in synth(lb, lb.select(None), tmp_path / "out", DeploySettings()))


def _fake_results(tmp_path: Path) -> tuple[object, list]:
    lb = load(REFERENCES / "starter.yaml")
    results = []
    for e in lb.select(None):
        cluster = SimpleNamespace(stack=f"starter-{e.name}-cluster", json_path=tmp_path / "c.json", directory=tmp_path)
        results.append(
            SimpleNamespace(env=e.name, stack=f"starter-{e.name}", json_path=tmp_path / "s.json", cluster=cluster)
        )
    return lb, results


def test_up_applies_the_cloud_stack_then_the_cluster_stack(tmp_path, monkeypatch):
    lb, results = _fake_results(tmp_path)
    order: list[str] = []
    monkeypatch.setattr(pipeline, "_target", lambda *a, **k: SimpleNamespace(local=False))
    monkeypatch.setattr(pipeline, "synth", lambda *a, **k: results)
    monkeypatch.setattr(pipeline, "_releases_first", lambda *a: ())  # tests/scripts/test_releases_first.py
    monkeypatch.setattr(
        pipeline,
        "_apply_stack",
        lambda cloud, e, r, *a, untracked=False, **k: order.append(
            r.stack + (" (untracked swept)" if untracked else "")
        ),
    )
    pipeline.up(lb, verify=False)
    # the sweep of untracked tagged objects belongs to the cloud stack (the cluster stack's state holds none)
    assert order == [
        "starter-dev (untracked swept)",
        "starter-dev-cluster",
        "starter-prod (untracked swept)",
        "starter-prod-cluster",
    ]


def test_down_destroys_the_cluster_stack_first(tmp_path, monkeypatch):
    lb, results = _fake_results(tmp_path)  # dev does not protect its stateful resources (down refuses those)
    order: list[str] = []

    class Tf:
        def __init__(self, stack):
            self.stack = stack

        def apply(self):
            order.append(self.stack)

    monkeypatch.setattr(pipeline, "_target", lambda *a, **k: SimpleNamespace(local=False))
    monkeypatch.setattr(pipeline, "synth", lambda *a, **k: [r for r in results if r.env == "dev"])
    monkeypatch.setattr(pipeline, "_cleanup_rollouts", lambda *a, **k: None)
    monkeypatch.setattr(pipeline, "_untracked", lambda cloud, e, r, tf, *a: order.append(f"sweep {r.stack} {tf}"))
    monkeypatch.setattr(
        pipeline, "_plan_env", lambda cloud, r, e, t, ev, destroy=False: (Tf(r.stack), SimpleNamespace(empty=False))
    )
    pipeline.down(lb, env="dev")
    # after the destroy nothing is recorded: whatever still carries the tags is swept
    assert order == ["starter-dev-cluster", "starter-dev", "sweep starter-dev None"]


def test_up_local_validates_and_gates_the_cluster_stack_and_says_it_is_not_applied(stacks, tmp_path):
    lb = load(REFERENCES / "starter.yaml")
    e = lb.select("dev")[0]
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps(stacks["aws"]["dev"]["cluster"]))
    events: list = []
    pipeline._check_cluster_stack(e, SimpleNamespace(stack="starter-dev-cluster", json_path=path), events.append)
    notes = [ev.message for ev in events if isinstance(ev, Note)]
    assert len(notes) == 1 and "\n" not in notes[0]
    assert re.fullmatch(
        r"starter-dev-cluster: synthesized, validated \(\d+ objects valid for Kubernetes 1\.\d+\) and gated; "
        r"not applied: the emulator has no Kubernetes API server",
        notes[0],
    ), notes[0]
    # an object the API server would refuse stops `up`
    doc = stacks["aws"]["dev"]["cluster"]
    broken = json.loads(json.dumps(doc))
    for body in broken["resource"]["kubernetes_manifest"].values():
        if body["manifest"]["kind"] == "NodePool":
            body["manifest"]["spec"]["limits"] = {"nvidia.com/gpu": {"not": "a quantity"}}
    path.write_text(json.dumps(broken))
    with pytest.raises(pipeline.PolicyRefused, match="would refuse"):
        pipeline._check_cluster_stack(e, SimpleNamespace(stack="starter-dev-cluster", json_path=path), events.append)


@pytest.mark.skipif(not (BIN / "cdktn").exists(), reason="CDK Terrain CLI not installed: run `make cdktn-cli`")
def test_cdktn_synth_writes_the_cluster_stacks_too(tmp_path, stacks):
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        CHECKPOINT_DISABLE="1",
        MLOPS_BLUEPRINT=str(REFERENCES / "starter.yaml"),
        MLOPS_ENV="dev",
    )
    out = tmp_path / "cdktn"
    p = subprocess.run(
        [str(BIN / "cdktn"), "synth", "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    theirs = json.loads((out / "stacks" / "starter-dev-cluster" / "cdk.tf.json").read_text())
    ours = stacks["aws"]["dev"]["cluster"]
    assert {t: sorted(v) for t, v in theirs["resource"].items()} == {t: sorted(v) for t, v in ours["resource"].items()}
    manifest = json.loads((out / "manifest.json").read_text())["stacks"]
    assert manifest["starter-dev-cluster"]["dependencies"] == ["starter-dev"]


# -- the emulator's EKS shims (Auto Mode config, access entries) -----------------------------------------------


def test_emulator_keeps_auto_mode_config_and_serves_access_entries(aws):
    iam, eks = aws("iam"), aws("eks")
    role = iam.create_role(RoleName="h15-cluster", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    eks.create_cluster(
        name="h15",
        roleArn=role,
        resourcesVpcConfig={"subnetIds": ["subnet-1"]},
        accessConfig={"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True},
        computeConfig={"enabled": True, "nodePools": ["general-purpose", "system"], "nodeRoleArn": role},
        storageConfig={"blockStorage": {"enabled": True}},
        kubernetesNetworkConfig={"elasticLoadBalancing": {"enabled": True}},
        upgradePolicy={"supportType": "STANDARD"},
    )
    c = eks.describe_cluster(name="h15")["cluster"]
    assert c["upgradePolicy"] == {"supportType": "STANDARD"}
    # a standalone Pod Identity association (the trainer's): one per namespace and service account
    trainer = "arn:aws:iam::123456789012:role/h15-trainer"
    made = eks.create_pod_identity_association(
        clusterName="h15", namespace="mlops-training", serviceAccount="trainer", roleArn=trainer
    )["association"]
    with pytest.raises(eks.exceptions.ResourceInUseException):
        eks.create_pod_identity_association(
            clusterName="h15", namespace="mlops-training", serviceAccount="trainer", roleArn=trainer
        )
    read = eks.describe_pod_identity_association(clusterName="h15", associationId=made["associationId"])["association"]
    assert (read["namespace"], read["serviceAccount"], read["roleArn"]) == ("mlops-training", "trainer", trainer)
    listed = eks.list_pod_identity_associations(clusterName="h15")["associations"]
    assert [a["associationId"] for a in listed] == [made["associationId"]]
    eks.delete_pod_identity_association(clusterName="h15", associationId=made["associationId"])
    assert eks.list_pod_identity_associations(clusterName="h15")["associations"] == []
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.describe_pod_identity_association(clusterName="h15", associationId=made["associationId"])
    assert c["accessConfig"]["authenticationMode"] == "API"
    assert c["computeConfig"]["nodePools"] == ["general-purpose", "system"]
    assert c["storageConfig"] == {"blockStorage": {"enabled": True}}
    assert c["kubernetesNetworkConfig"]["elasticLoadBalancing"] == {"enabled": True}
    persona = "arn:aws:iam::123456789012:role/h15-ds"
    entry = eks.create_access_entry(clusterName="h15", principalArn=persona, type="STANDARD")["accessEntry"]
    assert entry["username"] == "arn:aws:sts::123456789012:assumed-role/h15-ds/{{SessionName}}"
    with pytest.raises(eks.exceptions.ResourceInUseException):
        eks.create_access_entry(clusterName="h15", principalArn=persona)
    scope = {"type": "namespace", "namespaces": ["mlops-training"]}
    edit = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
    eks.associate_access_policy(clusterName="h15", principalArn=persona, policyArn=edit, accessScope=scope)
    [held] = eks.list_associated_access_policies(clusterName="h15", principalArn=persona)["associatedAccessPolicies"]
    assert held["policyArn"] == edit and held["accessScope"] == scope
    assert eks.list_access_entries(clusterName="h15")["accessEntries"] == [persona]
    eks.disassociate_access_policy(clusterName="h15", principalArn=persona, policyArn=edit)
    eks.delete_access_entry(clusterName="h15", principalArn=persona)
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.describe_access_entry(clusterName="h15", principalArn=persona)


# -- where the nodes pull Kueue's image from ---------------------------------------------------------------


def _kueue_image(cluster_doc: dict) -> str:
    [release] = [r for r in cluster_doc["resource"]["helm_release"].values() if r["chart"] == "kueue"]
    return yaml.safe_load(release["values"][0])["controllerManager"]["manager"]["image"]["repository"]


def test_aws_nodes_pull_kueue_through_the_environments_ecr_pull_through_cache(stacks):
    """The AWS VPC has no internet: registry.k8s.io is mirrored by an ECR pull-through cache rule of the
    cloud stack, the node role may import through it (only under its prefix), and the cluster stack's
    Kueue image names the mirror, in this account and region."""
    for env, prefix in (("dev", "starter-dev-k8s"), ("prod", "starter-prod-k8s")):
        cloud, cluster = stacks["aws"][env]["cloud"], stacks["aws"][env]["cluster"]
        [rule] = cloud["resource"]["aws_ecr_pull_through_cache_rule"].values()
        assert (rule["ecr_repository_prefix"], rule["upstream_registry_url"]) == (prefix, "registry.k8s.io")
        [(role, import_policy)] = [
            (p["role"], json.loads(p["policy"])["Statement"])
            for p in cloud["resource"]["aws_iam_role_policy"].values()
            if "ecr:BatchImportUpstreamImage" in p["policy"]
        ]
        [node_role] = [
            k for k, r in cloud["resource"]["aws_iam_role"].items() if r["name"] == f"starter-{env}-eks-nodes"
        ]
        [identity] = cloud["data"]["aws_caller_identity"]
        assert role == "${aws_iam_role." + node_role + ".id}"
        assert import_policy == [
            {
                "Effect": "Allow",
                "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                "Resource": "arn:aws:ecr:eu-central-1:${data.aws_caller_identity." + identity + ".account_id}"
                f":repository/{prefix}/*",
            }
        ]
        [account] = cluster["data"]["aws_caller_identity"]
        assert _kueue_image(cluster) == (
            "${data.aws_caller_identity." + account + ".account_id}"
            f".dkr.ecr.eu-central-1.amazonaws.com/{prefix}/kueue/kueue"
        )


def test_gcp_nodes_pull_kueue_through_an_artifact_registry_remote_repository(stacks):
    """GKE nodes reach Google APIs only: registry.k8s.io is mirrored by a CMEK-encrypted Artifact Registry
    remote repository the node service account may read, and Kueue's image names it."""
    for env in ("dev", "prod"):
        cloud, cluster = stacks["gcp"][env]["cloud"], stacks["gcp"][env]["cluster"]
        [(rid, repo)] = [
            (k, r)
            for k, r in cloud["resource"]["google_artifact_registry_repository"].items()
            if r["mode"] == "REMOTE_REPOSITORY"
        ]
        assert repo["repository_id"] == f"starter-{env}-k8s-mirror" and repo["format"] == "DOCKER"
        assert repo["remote_repository_config"]["docker_repository"] == {
            "custom_repository": {"uri": "https://registry.k8s.io"}
        }
        [ml_key] = [k for k, r in cloud["resource"]["google_kms_crypto_key"].items() if r["name"] == "ml"]
        assert repo["kms_key_name"] == "${google_kms_crypto_key." + ml_key + ".id}"
        [reader] = [
            m
            for m in cloud["resource"]["google_artifact_registry_repository_iam_member"].values()
            if m["repository"] == "${google_artifact_registry_repository." + rid + ".name}"
        ]
        [nodes] = [k for k, a in cloud["resource"]["google_service_account"].items() if "gke-nodes" in a["account_id"]]
        assert reader["role"] == "roles/artifactregistry.reader"
        assert reader["member"] == "${google_service_account." + nodes + ".member}"
        region, project = repo["location"], cloud["provider"]["google"][0]["project"]
        assert _kueue_image(cluster) == f"{region}-docker.pkg.dev/{project}/starter-{env}-k8s-mirror/kueue/kueue"


def test_clouds_whose_nodes_reach_registry_k8s_io_pull_kueue_from_it(stacks):
    assert _kueue_image(stacks["azure"]["dev"]["cluster"]) == "registry.k8s.io/kueue/kueue"


def test_the_mirror_prefix_fits_ecr_and_stays_one_per_environment():
    from mlops_blueprint.stacks.aws.names import AwsNames

    assert AwsNames("starter", "dev").k8s_mirror == "starter-dev-k8s"
    long = {env: AwsNames("a-very-long-platform-x", env).k8s_mirror for env in ("dev", "stage", "prod")}
    assert long["dev"] == "a-very-long-platform-x-dev-k8s"  # 30: fits as it is
    assert all(len(p) <= 30 for p in long.values()) and len(set(long.values())) == 3
    assert (
        long["stage"].startswith("a-very-long-platform-")
        and long["stage"] == AwsNames("a-very-long-platform-x", "stage").k8s_mirror
    )


def test_up_says_a_waiver_matched_nothing_once_for_both_stacks(tmp_path, monkeypatch):
    """The cloud stack's gate holds back "matched nothing"; the cluster stack's gate says it only for the
    waivers neither stack used (a waiver for a cluster-stack finding is not reported unmatched)."""
    from mlops_blueprint.policies.engine import Report

    lb, results = _fake_results(tmp_path)
    calls: list[tuple[str, dict]] = []
    reports = {
        "cloud": Report(waiver_warnings=["waiver 1 matched nothing", "waiver 2 matched nothing"]),
        "cluster": Report(waiver_warnings=["waiver 2 matched nothing", "waiver 3 matched nothing"]),
    }

    def apply(cloud, e, r, *a, **k):
        calls.append((r.stack, {key: k.get(key) for key in ("hold_warnings", "earlier", "later")}))
        layer = "cluster" if r.stack.endswith("-cluster") else "cloud"
        # what _apply_stack's gate shows, through the real _gate with this layer's report
        monkeypatch.setattr("mlops_blueprint.policies.gate.evaluate", lambda *a, **kw: reports[layer])
        shown: list = []
        gate_kw = {key: k[key] for key in ("hold_warnings", "earlier", "later") if key in k}
        pipeline._gate(e, r.stack, shown.append, with_checkov=False, **gate_kw)
        events.extend((r.stack, ev.report.waiver_warnings) for ev in shown)
        return reports[layer]

    events: list = []
    monkeypatch.setattr(pipeline, "_target", lambda *a, **k: SimpleNamespace(local=False))
    monkeypatch.setattr(pipeline, "synth", lambda *a, **k: [r for r in results if r.env == "dev"])
    monkeypatch.setattr(pipeline, "_releases_first", lambda *a: ())
    monkeypatch.setattr(pipeline, "_apply_stack", apply)
    pipeline.up(lb, "dev", verify=False)
    assert [(s, k["hold_warnings"], k["earlier"] is reports["cloud"]) for s, k in calls] == [
        ("starter-dev", True, False),
        ("starter-dev-cluster", None, True),
    ]
    assert events == [("starter-dev", []), ("starter-dev-cluster", ["waiver 2 matched nothing"])]
