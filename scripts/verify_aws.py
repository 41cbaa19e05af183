"""`verify` on AWS: read back, through boto3, what the blueprint says exists, with its promised settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlops_blueprint.blueprints import clouds
from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.blueprints.naming import Naming


@dataclass(frozen=True)
class Check:
    component: str
    subject: str
    ok: bool
    detail: str


def verify(env: ResolvedEnv, client: Callable[[str], object]) -> list[Check]:
    """`client(service)` returns a boto3 client for the environment's region and endpoint."""
    from botocore.exceptions import ClientError

    bp = env.blueprint
    n = Naming(bp.metadata.name, env.name)
    c = bp.components
    out: list[Check] = []

    def check(component: str, subject: str, fn: Callable[[], tuple[bool, str]]) -> None:
        try:
            ok, detail = fn()
        except ClientError as exc:
            ok, detail = False, f"{exc.response['Error'].get('Code')}: {exc.response['Error'].get('Message')}"
        out.append(Check(component, subject, ok, detail))

    s3 = client("s3")

    def bucket_ok(name: str, versioned: bool) -> tuple[bool, str]:
        enc = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        algo = enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        ver = s3.get_bucket_versioning(Bucket=name).get("Status")
        pab = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        private = all(pab.get(k) for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))
        problems = []
        if algo != "aws:kms":
            problems.append(f"encryption {algo}, expected aws:kms")
        if versioned and ver != "Enabled":
            problems.append(f"versioning {ver}")
        if not private:
            problems.append("public access not fully blocked")
        return not problems, "; ".join(problems) or "SSE-KMS, versioned, private"

    kms = client("kms")
    aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    for purpose in ("data", "ml", "ops"):
        alias = f"alias/{n.name(purpose)}"
        check("baseline", alias, lambda a=alias: (a in aliases, "key alias present" if a in aliases else "missing"))
    iam = client("iam")
    for persona in ("data-engineers", "data-scientists", "ml-engineers", "app-consumers"):
        role = n.iam_role(persona)
        check("baseline", f"role {role}", lambda r=role: (iam.get_role(RoleName=r)["Role"]["RoleName"] == r, "present"))

    if c.data_lake:
        for zone in c.data_lake.zones:
            name = n.bucket(zone)
            check("data_lake", name, lambda b=name: bucket_ok(b, c.data_lake.versioning))
    if c.catalog:
        glue = client("glue")
        for db in c.catalog.databases:
            name = n.glue_database(db)
            check("catalog", f"database {name}", lambda d=name: (glue.get_database(Name=d)["Database"]["Name"] == d, "present"))
    if c.training:
        eks = client("eks")
        cluster = n.name("training")
        for pool, spec in c.training.pools.items():
            def ng_ok(pool=pool, spec=spec) -> tuple[bool, str]:
                ng = eks.describe_nodegroup(clusterName=cluster, nodegroupName=n.name(pool))["nodegroup"]
                sc, taints = ng["scalingConfig"], ng.get("taints", [])
                gpu_taint = any(t["key"] == "nvidia.com/gpu" and t["effect"] == "NO_SCHEDULE" for t in taints)
                want = clouds.training_instance("aws", spec.accelerator, spec.gpus_per_node)
                problems = []
                if not gpu_taint:
                    problems.append("no nvidia.com/gpu NoSchedule taint")
                if sc["minSize"] != spec.min_nodes or sc["maxSize"] != spec.max_nodes:
                    problems.append(f"scaling {sc['minSize']}..{sc['maxSize']}, expected {spec.min_nodes}..{spec.max_nodes}")
                if ng.get("instanceTypes") != [want]:
                    problems.append(f"instance types {ng.get('instanceTypes')}, expected [{want}]")
                return not problems, "; ".join(problems) or f"{want}, GPU taint, min {sc['minSize']} max {sc['maxSize']}"
            check("training", f"node group {n.name(pool)}", ng_ok)
    if c.registry:
        sm, ecr = client("sagemaker"), client("ecr")
        for model in c.registry.models:
            group = n.sagemaker(model)
            check("registry", f"model group {group}", lambda g=group: (
                sm.describe_model_package_group(ModelPackageGroupName=g)["ModelPackageGroupName"] == g, "present"))
            repo = n.ecr_repository(model)

            def repo_ok(repo=repo) -> tuple[bool, str]:
                r = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
                mut, scan = r["imageTagMutability"], r["imageScanningConfiguration"]["scanOnPush"]
                want_mut = "IMMUTABLE" if c.registry.immutable_tags else "MUTABLE"
                ok = mut == want_mut and scan == c.registry.image_scanning
                return ok, f"tags {mut}, scan on push {scan}"
            check("registry", f"repository {repo}", repo_ok)
        check("registry", n.bucket("model-artifacts"), lambda: bucket_ok(n.bucket("model-artifacts"), True))
    if c.serving:
        sm = client("sagemaker")
        for name, ep in c.serving.endpoints.items():
            ep_name = n.sagemaker(name)

            def ep_ok(ep_name=ep_name, ep=ep) -> tuple[bool, str]:
                d = sm.describe_endpoint(EndpointName=ep_name)
                cfg = sm.describe_endpoint_config(EndpointConfigName=d["EndpointConfigName"])
                capture = cfg.get("DataCaptureConfig", {})
                problems = []
                if d["EndpointStatus"] != "InService":
                    problems.append(f"status {d['EndpointStatus']}")
                if ep.capture_requests and not capture.get("EnableCapture"):
                    problems.append("data capture off")
                if not cfg.get("KmsKeyId"):
                    problems.append("no KMS key")
                return not problems, "; ".join(problems) or f"InService, capture {capture.get('InitialSamplingPercentage')} %"
            check("serving", f"endpoint {ep_name}", ep_ok)
    if c.monitoring:
        cw, sns = client("cloudwatch"), client("sns")
        alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix=n.prefix)["MetricAlarms"]}
        topic = next((t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{n.name('alerts')}")), None)
        check("monitoring", f"topic {n.name('alerts')}", lambda: (topic is not None, "present" if topic else "missing"))
        if topic:
            subs = {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
            missing = set(c.monitoring.notify) - subs
            check("monitoring", "subscribers", lambda: (not missing, f"missing {sorted(missing)}" if missing else f"{len(subs)} subscribed"))
        expected = []
        for name in (c.serving.endpoints if c.serving else {}):
            expected += [n.name(name, "latency-p99"), n.name(name, "error-rate"), n.name(name, "at-capacity")]
        for pool in (c.training.pools if c.training else {}):
            expected.append(n.name(pool, "gpu-saturated"))
        for alarm in expected:
            def alarm_ok(alarm=alarm) -> tuple[bool, str]:
                a = alarms.get(alarm)
                if a is None:
                    return False, "missing"
                return (topic in a.get("AlarmActions", []), "notifies the alerts topic")
            check("monitoring", f"alarm {alarm}", alarm_ok)
    return out
