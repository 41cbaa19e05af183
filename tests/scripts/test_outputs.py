"""The outputs contract: every cloud's stacks declare the documented names, with the documented values;
the Pulumi helper reads them from the state named by the stack's backend (Pulumi runtime mocks only:
the Pulumi CLI is not available here)."""

import json
import re
import runpy

import pytest

from mlops_blueprint.blueprints import load
from mlops_blueprint.scripts import outputs
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import ROOT

REF = ROOT / "blueprints" / "reference"
CONTRACT = sorted(outputs.CONTRACT)
# The contract names plus the names each cloud keeps (existing ones) or adds.
EXPECTED = {
    "starter": CONTRACT + ["lake_bucket_arns", "lake_kms_key_arn", "training_cluster"],
    "gcp-vision": CONTRACT + ["persona_service_accounts", "repositories", "training_cluster"],
    "azure-claims": CONTRACT + ["lake_filesystems", "persona_identities", "training_cluster", "workspace"],
    "onprem-research": CONTRACT + ["cluster_queues", "namespaces", "persona_service_accounts"],
    "tactical-team": [
        "alert_topic",
        "lake_bucket_arns",
        "lake_buckets",
        "lake_kms_key_arn",
        "persona_roles",
        "registry_model_groups",
        "registry_repositories",
        "training_cluster",
        "training_pools",
    ],
}


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    out = {}
    for ref in EXPECTED:
        lb = load(REF / f"{ref}.yaml")
        [res] = synth(lb, [lb.envs["dev"]], tmp_path_factory.mktemp(ref), DeploySettings.for_local(False))
        out[ref] = (lb, json.loads(res.json_path.read_text()), res.json_path)
    return out


@pytest.mark.parametrize("ref", sorted(EXPECTED))
def test_every_cloud_declares_the_contract_names(stacks, ref):
    lb, doc, _ = stacks[ref]
    assert sorted(doc["output"]) == sorted(EXPECTED[ref])
    assert set(outputs.expected_names(lb, "dev")) <= set(doc["output"])


def value(doc, name):
    return doc["output"][name]["value"]


def test_aws_values(stacks):
    _, doc, _ = stacks["starter"]
    assert set(value(doc, "lake_buckets")) == {"raw", "curated", "features"}
    assert re.fullmatch(
        r"\$\{aws_s3_bucket\.data_lake_features_bucket_[\w-]+\.bucket\}", value(doc, "lake_buckets")["features"]
    )
    assert re.fullmatch(
        r"\$\{aws_s3_bucket\.data_lake_features_bucket_[\w-]+\.arn\}", value(doc, "lake_bucket_arns")["features"]
    )
    assert re.fullmatch(r"\$\{aws_kms_key\.baseline_key-data_[\w-]+\.arn\}", value(doc, "lake_kms_key_arn"))
    assert re.fullmatch(
        r"\$\{aws_glue_catalog_database\.catalog_[\w-]+\.name\}", value(doc, "catalog_databases")["sales"]
    )
    assert value(doc, "training_pools") == {"gpu-a": "gpu-a"}  # the pool's NodePool in the cluster stack
    assert re.fullmatch(
        r"\$\{aws_ecr_repository\.registry_repo-fraud_[\w-]+\.repository_url\}",
        value(doc, "registry_repositories")["fraud"],
    )
    assert re.fullmatch(
        r"\$\{aws_sagemaker_model_package_group\.registry_[\w-]+\.model_package_group_name\}",
        value(doc, "registry_model_groups")["fraud"],
    )
    assert re.fullmatch(
        r"https://runtime\.sagemaker\.eu-central-1\.amazonaws\.com/endpoints/\$\{aws_sagemaker_endpoint\.serving_fraud-api_[\w-]+\.name\}/invocations",
        value(doc, "endpoint_urls")["fraud-api"],
    )
    assert re.fullmatch(r"\$\{aws_sns_topic\.monitoring_alerts_[\w-]+\.arn\}", value(doc, "alert_topic"))
    assert sorted(value(doc, "persona_roles")) == ["app_consumers", "data_engineers", "data_scientists", "ml_engineers"]


def test_gcp_azure_onprem_values(stacks):
    _, gcp, _ = stacks["gcp-vision"]
    assert re.fullmatch(
        r"https://us-central1-aiplatform\.googleapis\.com/v1/\$\{google_vertex_ai_endpoint\.serving_detector_[\w-]+\.id\}:predict",
        value(gcp, "endpoint_urls")["detector"],
    )
    assert value(gcp, "registry_repositories")["detector"].startswith("us-central1-docker.pkg.dev/acme-vision-dev/${")
    assert value(gcp, "persona_roles") == value(gcp, "persona_service_accounts")
    assert value(gcp, "alert_topic").startswith('${join(",", [google_monitoring_notification_channel.')
    _, az, _ = stacks["azure-claims"]
    assert value(az, "endpoint_urls") == {
        "fraud-score": "https://claims-dev-fraud-score.westeurope.inference.ml.azure.com/score",
        "triage": "https://claims-dev-triage.westeurope.inference.ml.azure.com/score",
    }
    assert value(az, "catalog_databases") == {"claims": "claims", "features": "features"}
    assert value(az, "lake_buckets") == value(az, "lake_filesystems")
    _, op, _ = stacks["onprem-research"]
    assert value(op, "endpoint_urls") == {
        "cohort": "http://cohort-predictor.research-dev-serving.svc.cluster.local",
        "variants": "http://variants-predictor.research-dev-serving.svc.cluster.local",
    }
    assert value(op, "alert_topic") == "http://alertmanager-operated.research-dev-monitoring.svc:9093"
    assert value(op, "training_pools") == value(op, "cluster_queues")
    assert value(op, "registry_repositories") == {
        "cohort-risk": "registry.research-dev.mlops.internal/research-dev-models/cohort-risk",
        "variant-caller": "registry.research-dev.mlops.internal/research-dev-models/variant-caller",
    }


def test_rows_and_json_rendering():
    vals = {"dev": {"alert_topic": "arn:t", "lake_buckets": {"raw": "b-raw", "features": "b-f"}}}
    assert outputs.rows(vals["dev"]) == [
        ("alert_topic", "", "arn:t"),
        ("lake_buckets", "features", "b-f"),
        ("lake_buckets", "raw", "b-raw"),
    ]
    assert json.loads(outputs.render_json(vals, "dev")) == vals["dev"]
    assert json.loads(outputs.render_json(vals, None)) == vals


# --- Pulumi interop, with Pulumi's runtime mocks ---------------------------------------------------

pulumi = pytest.importorskip("pulumi")
STATE = {
    "lake_buckets": {"raw": "starter-dev-raw", "features": "starter-dev-features"},
    "lake_bucket_arns": {"raw": "arn:aws:s3:::starter-dev-raw", "features": "arn:aws:s3:::starter-dev-features"},
    "lake_kms_key_arn": "arn:aws:kms:eu-central-1:123456789012:key/data",
}


class Mocks(pulumi.runtime.Mocks):
    calls: list = []

    def new_resource(self, args):
        outs = dict(args.inputs)
        if args.typ == "aws:iam/role:Role":
            outs["arn"] = f"arn:aws:iam::123456789012:role/{args.name}"
        return [f"{args.name}-id", outs]

    def call(self, args):
        Mocks.calls.append((args.token, dict(args.args)))
        if args.token == "terraform:state:getS3Reference":
            return {"outputs": STATE}
        return {}


def test_pulumi_example_grants_the_features_zone(stacks):
    _, _, stack_json = stacks["starter"]
    pulumi.runtime.set_mocks(Mocks(), project="features-reader", stack="dev", preview=False)
    pulumi.runtime.set_all_config({"features-reader:platformStack": str(stack_json)})

    @pulumi.runtime.test
    def run():
        g = runpy.run_path(str(ROOT / "examples" / "pulumi" / "__main__.py"))

        def check(args):
            policy, bucket = args
            doc = json.loads(policy)
            assert bucket == "starter-dev-features"
            assert {s["Sid"]: s["Resource"] for s in doc["Statement"]} == {
                "ListZone": ["arn:aws:s3:::starter-dev-features"],
                "ReadZone": ["arn:aws:s3:::starter-dev-features/*"],
                "DecryptZone": ["arn:aws:kms:eu-central-1:123456789012:key/data"],
            }
            assert {s["Sid"]: s["Action"] for s in doc["Statement"]} == {
                "ListZone": ["s3:ListBucket"],
                "ReadZone": ["s3:GetObject"],
                "DecryptZone": ["kms:Decrypt"],
            }

        return pulumi.Output.all(g["policy"].policy, g["platform"].lake_bucket("features")).apply(check)

    run()
    # The state was read where the synthesized stack's backend block says: the environment's bucket and key.
    [(token, args)] = [c for c in Mocks.calls if c[0].startswith("terraform:state:")][:1]
    assert token == "terraform:state:getS3Reference"
    assert (args["bucket"], args["key"], args["region"]) == (
        "starter-dev-tfstate",
        "starter/dev/terraform.tfstate",
        "eu-central-1",
    )


def test_pulumi_helper_refuses_a_backend_it_cannot_read():
    from mlops_blueprint.scripts.pulumi_outputs import PlatformOutputs, UnsupportedBackend

    with pytest.raises(UnsupportedBackend, match="cannot read a 'gcs' state backend"):
        PlatformOutputs.from_backend("gcs", {"bucket": "x"})
