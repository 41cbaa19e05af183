"""Audit trails and GPU metric sources, per cloud, on the synthesized starter (AWS) and its GCP retarget.

AWS: a CloudTrail trail with S3 data events on every platform bucket into an object-locked, KMS-encrypted
log bucket (stateful, guarded), VPC flow logs, and the CloudWatch Observability add-on whose Container
Insights GPU metric each pool's alarm reads. GCP: Data Access audit logs for Cloud Storage and BigQuery,
subnet flow logs, and the GKE system accelerator metric the pool alerts read. The regulated pack's audit
rules pass on both stacks (their failing cases are the rules' fixtures).
"""

from __future__ import annotations

import json

from mlops_blueprint.blueprints import registry
from mlops_blueprint.modules.baseline.aws import AUDIT_RETENTION_DAYS
from mlops_blueprint.modules.monitoring.aws import AGENT_POLICY, OBSERVABILITY_ADDON
from mlops_blueprint.policies.engine import all_rules, run_rule
from mlops_blueprint.policies.packs import PACKS
from mlops_blueprint.policies.tfjson import Doc, refs
from tests.modules.conftest import one, resources

AUDIT_RULES = {"aws": ("MLOPS_AWS_031", "MLOPS_AWS_032"), "gcp": ("MLOPS_GCP_025", "MLOPS_GCP_026")}


def addr(doc: dict, rtype: str, prefix: str) -> str:
    [name] = [n for n in resources(doc, rtype) if n.startswith(prefix)]
    return f"{rtype}.{name}"


def selectors(trail: dict) -> dict[str, dict[str, dict]]:
    return {s["name"]: {f["field"]: f for f in s["field_selector"]} for s in trail["advanced_event_selector"]}


# ------------------------------------------------------------------------------------------------ AWS


def test_the_trail_records_management_events_and_object_access_on_every_platform_bucket(starter):
    doc = starter["dev"]
    trail = one(doc, "aws_cloudtrail", name="starter-dev-audit")
    assert trail["is_multi_region_trail"] and trail["include_global_service_events"]
    assert trail["enable_log_file_validation"] and trail["enable_logging"]
    assert refs(trail["kms_key_id"]) == {addr(doc, "aws_kms_key", "baseline_key-ops")}
    sel = selectors(trail)
    assert sel["Management events"]["eventCategory"]["equals"] == ["Management"]
    data = sel["S3 object reads and writes on the platform's buckets"]
    assert data["eventCategory"]["equals"] == ["Data"] and data["resources.type"]["equals"] == ["AWS::S3::Object"]
    watched = data["resources.ARN"]["starts_with"]
    assert all(v.endswith(".arn}/") for v in watched)
    log_bucket = addr(doc, "aws_s3_bucket", "baseline_audit-logs")
    expected = {f"aws_s3_bucket.{n}" for n in resources(doc, "aws_s3_bucket")} - {log_bucket}
    assert refs(watched) == expected
    assert {addr(doc, "aws_s3_bucket", f"data_lake_{z}") for z in ("raw", "curated", "features")} <= expected
    assert addr(doc, "aws_s3_bucket", "registry_artifacts") in expected
    assert refs(trail["s3_bucket_name"]) == {log_bucket}
    assert trail["depends_on"] == [addr(doc, "aws_s3_bucket_policy", "baseline_audit-logs-policy")]


def test_the_log_bucket_is_locked_encrypted_private_and_guarded(starter):
    for env, protected in (("dev", False), ("prod", True)):
        doc = starter[env]
        bucket = one(doc, "aws_s3_bucket", bucket=f"starter-{env}-audit-logs")
        log_bucket = addr(doc, "aws_s3_bucket", "baseline_audit-logs")
        assert bucket["object_lock_enabled"] is True
        assert bucket["force_destroy"] is (not protected)
        assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is protected
        [lock] = [b for _, b in Doc(doc).referencing("aws_s3_bucket_object_lock_configuration", log_bucket, "bucket")]
        assert lock["rule"]["default_retention"] == {"mode": "GOVERNANCE", "days": AUDIT_RETENTION_DAYS}
    doc = starter["dev"]
    d, log_bucket = Doc(doc), addr(doc, "aws_s3_bucket", "baseline_audit-logs")
    [(_, pab)] = d.referencing("aws_s3_bucket_public_access_block", log_bucket, "bucket")
    assert all(
        pab[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    [(_, sse)] = d.referencing("aws_s3_bucket_server_side_encryption_configuration", log_bucket, "bucket")
    default = sse["rule"][0]["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms" and refs(default["kms_master_key_id"]) == {
        addr(doc, "aws_kms_key", "baseline_key-ops")
    }
    [(_, versioning)] = d.referencing("aws_s3_bucket_versioning", log_bucket, "bucket")
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    [(_, policy)] = d.referencing("aws_s3_bucket_policy", log_bucket, "bucket")
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    assert statements["CloudTrailWrite"]["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert statements["CloudTrailWrite"]["Condition"]["StringEquals"]["aws:SourceArn"].endswith(
        ":trail/starter-dev-audit"
    )
    assert statements["FlowLogsWrite"]["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    ops_key = json.loads(one(doc, "aws_kms_key", description="starter-dev ops encryption")["policy"])
    [audit] = [s for s in ops_key["Statement"] if s["Sid"] == "AuditLogsEncrypt"]
    assert set(audit["Principal"]["Service"]) == {"cloudtrail.amazonaws.com", "delivery.logs.amazonaws.com"}
    # the data-loss guard holds every aws_s3_bucket, the log bucket included
    assert "aws_s3_bucket" in registry.get("aws").stateful_types


def test_vpc_flow_logs_go_to_the_log_bucket(starter):
    doc = starter["dev"]
    [(_, flow)] = Doc(doc).referencing("aws_flow_log", addr(doc, "aws_vpc", "baseline_vpc"), "vpc_id")
    assert flow["traffic_type"] == "ALL" and flow["log_destination_type"] == "s3"
    assert flow["log_destination"] == "${" + addr(doc, "aws_s3_bucket", "baseline_audit-logs") + ".arn}"


def test_the_observability_add_on_emits_the_gpu_metric_each_pool_alarm_reads(starter):
    doc = starter["dev"]
    addon = one(doc, "aws_eks_addon", addon_name=OBSERVABILITY_ADDON)
    cluster = addr(doc, "aws_eks_cluster", "training_cluster")
    assert addon["cluster_name"] == "${" + cluster + ".name}"
    k8s = json.loads(addon["configuration_values"])["agent"]["config"]["logs"]["metrics_collected"]["kubernetes"]
    assert k8s == {"enhanced_container_insights": True, "accelerated_compute_metrics": True}
    [assoc] = addon["pod_identity_association"]
    assert assoc["service_account"] == "cloudwatch-agent"
    [role_addr] = refs(assoc["role_arn"])
    role = Doc(doc).get(role_addr)
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"} and "sts:TagSession" in trust["Action"]
    [(_, attachment)] = [
        (a, b) for a, b in Doc(doc).of("aws_iam_role_policy_attachment") if refs(b["role"]) == {role_addr}
    ]
    assert attachment["policy_arn"] == AGENT_POLICY
    alarm = one(doc, "aws_cloudwatch_metric_alarm", alarm_name="starter-dev-gpu-a-gpu-saturated")
    assert (alarm["namespace"], alarm["metric_name"]) == ("ContainerInsights", "node_gpu_utilization")
    assert alarm["dimensions"] == {"ClusterName": "starter-dev-training"}
    assert alarm["threshold"] == 95 and alarm["evaluation_periods"] == 6 and alarm["period"] == 300


# ------------------------------------------------------------------------------------------------ GCP


def test_gcp_audits_data_access_to_storage_and_bigquery(gcp_starter):
    doc = gcp_starter["dev"]
    configs = {b["service"]: b for _, b in Doc(doc).of("google_project_iam_audit_config")}
    assert set(configs) == {"storage.googleapis.com", "bigquery.googleapis.com"}
    for cfg in configs.values():
        assert cfg["project"] == "acme-ml-platform"
        assert [c["log_type"] for c in cfg["audit_log_config"]] == ["DATA_READ", "DATA_WRITE"]
        assert not any(c.get("exempted_members") for c in cfg["audit_log_config"])


def test_gcp_subnet_keeps_flow_logs(gcp_starter):
    [(_, subnet)] = list(Doc(gcp_starter["dev"]).of("google_compute_subnetwork"))
    assert subnet["log_config"]["metadata"] == "INCLUDE_ALL_METADATA" and subnet["log_config"]["flow_sampling"] > 0


def test_gcp_pool_alert_reads_the_gke_system_accelerator_metric(gcp_starter):
    doc = gcp_starter["dev"]
    policy = one(doc, "google_monitoring_alert_policy", display_name="starter-dev-gpu-a-gpu-saturated")
    condition = policy["conditions"][0]["condition_threshold"]
    assert 'metric.type = "kubernetes.io/container/accelerator/duty_cycle"' in condition["filter"]
    assert 'resource.type = "k8s_container"' in condition["filter"]
    assert 'metadata.user_labels."mlops.io/pool" = "gpu-a"' in condition["filter"]


# -------------------------------------------------------------------------------------- the regulated pack


def test_the_audit_rules_are_in_the_regulated_pack_and_pass_on_both_stacks(starter, gcp_starter):
    rules = all_rules()
    for cloud, doc in (("aws", starter["dev"]), ("gcp", gcp_starter["dev"])):
        d = Doc(doc)
        for rid in AUDIT_RULES[cloud]:
            assert rid in PACKS["regulated"].rules and rid not in PACKS["baseline"].rules
            findings = run_rule(rules[rid], d.subject, d)
            assert findings and all(f.passed for f in findings), (rid, [f.message for f in findings if not f.passed])


# --------------------------------------------------------------------------------------------- emulator


def test_the_emulator_keeps_an_add_on_and_its_pod_identity_association(aws):
    eks = aws("eks")
    eks.create_cluster(
        name="c1", roleArn="arn:aws:iam::123456789012:role/x", resourcesVpcConfig={"subnetIds": ["subnet-1"]}
    )
    role = "arn:aws:iam::123456789012:role/cw"
    eks.create_addon(
        clusterName="c1",
        addonName=OBSERVABILITY_ADDON,
        configurationValues='{"agent": {}}',
        podIdentityAssociations=[{"serviceAccount": "cloudwatch-agent", "roleArn": role}],
    )
    addon = eks.describe_addon(clusterName="c1", addonName=OBSERVABILITY_ADDON)["addon"]
    assert (addon["status"], addon["configurationValues"]) == ("ACTIVE", '{"agent": {}}')
    [arn] = addon["podIdentityAssociations"]
    association = eks.describe_pod_identity_association(clusterName="c1", associationId=arn.rsplit("/", 1)[-1])
    assert association["association"]["roleArn"] == role
    assert association["association"]["namespace"] == "amazon-cloudwatch"
    assert eks.list_addons(clusterName="c1")["addons"] == [OBSERVABILITY_ADDON]
    eks.delete_addon(clusterName="c1", addonName=OBSERVABILITY_ADDON)
    assert eks.list_addons(clusterName="c1")["addons"] == []


def test_the_emulator_deletes_a_trail_by_its_arn_as_the_provider_does(aws):
    aws("s3").create_bucket(Bucket="audit-test", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    ct = aws("cloudtrail")
    arn = ct.create_trail(Name="trail-1", S3BucketName="audit-test", IsMultiRegionTrail=True)["TrailARN"]
    ct.delete_trail(Name=arn)
    assert ct.describe_trails()["trailList"] == []
