"""AWS glue (boto3): state bootstrap, `verify` and `rollout`.

verify: read back, through boto3, what the blueprint says exists, with its promised settings.

rollout: a SageMaker model package in the model's group -> a model from that package -> an endpoint
configuration with the current model as `primary` and the new one as `canary` (weights 100-p / p)
-> UpdateEndpoint. `--traffic 100` promotes: one `primary` variant with the new model (the
autoscaling target keeps pointing at `primary`).

Every function takes its clients from a factory, so the tests drive it through the embedded emulator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.blueprints.model import PERSONAS
from mlops_blueprint.scripts.glue import (
    CANARY,
    PRIMARY,
    Capability,
    Check,
    ModuleGlue,
    Reporter,
    RolloutError,
    RolloutResult,
    Target,
    bounded,
    check_share,
    empty_variable,
    endpoint_spec,
    machine_vendor,
    missing_file,
    run_checks,
)
from mlops_blueprint.scripts.glue.aws_untracked import sweep_with
from mlops_blueprint.stacks.aws.catalog import BOOTSTRAP_TAG, CATALOG, bootstrap_image
from mlops_blueprint.stacks.aws.names import AwsNames

CREDENTIALS_HINT = "on AWS configure credentials (`aws configure`, `aws sso login`, or AWS_PROFILE)"


def credential_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import NoCredentialsError, PartialCredentialsError

    return (NoCredentialsError, PartialCredentialsError)


# Variables that point at a profile or a file: set but empty, or naming nothing, they are a mistake.
POINTERS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
FILES = ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE")
KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ROLE_ARN")  # empty ones: said when nothing else is found


def on_ec2() -> bool:
    """The machine is an EC2 instance (its DMI data says so): its metadata service may hold a role."""
    return "amazon" in machine_vendor("sys_vendor").lower() or machine_vendor("board_asset_tag").startswith("i-")


def credentials_problem() -> str | None:
    """botocore's own credential chain, resolved without the network: the instance metadata service is
    asked only on an EC2 instance (elsewhere it has no role to give, and asking it costs a timeout)."""
    import botocore.session
    from botocore.exceptions import BotoCoreError

    problem = empty_variable(POINTERS + FILES) or missing_file(FILES)
    if problem:
        return problem
    session = botocore.session.Session()
    try:
        if not on_ec2():
            session.get_component("credential_provider").remove("iam-role")
        found = session.get_credentials()
    except BotoCoreError as exc:  # ProfileNotFound, PartialCredentialsError, a config file that does not parse
        return str(exc).splitlines()[0]
    if found is None:
        return empty_variable(KEYS) or (
            "none found (no AWS_ACCESS_KEY_ID, no profile in ~/.aws, no web identity or container role, "
            "not on an EC2 instance)"
        )
    return None


def state_names(env: ResolvedEnv) -> tuple[str, str | None]:
    """The state bucket, and the DynamoDB lock table when the blueprint still names one (new
    environments lock with the S3 lockfile, Terraform >= 1.10, and need no table)."""
    bp = env.blueprint
    n = AwsNames(bp.metadata.name, env.name)
    return n.state_bucket(bp.state.bucket), n.lock_table(bp.state.lock_table) if bp.state.lock_table else None


def boto_session(target: Target, region: str):
    import boto3

    if target.local:
        return boto3.session.Session(
            aws_access_key_id=target.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=target.env["AWS_SECRET_ACCESS_KEY"],
            region_name=region,
        )
    return boto3.session.Session(region_name=region)


def client(target: Target, service: str, region: str):
    return boto_session(target, region).client(service, endpoint_url=target.endpoint)


# How `terraform import` names an object of each type the stacks create with a name of their own: the
# attribute that holds the name, or a format over it ({account}, {region}, {name}, {path}).
IMPORT_IDS: dict[str, tuple[str, str]] = {
    "aws_iam_role": ("name", "{name}"),
    "aws_iam_instance_profile": ("name", "{name}"),
    "aws_iam_policy": ("name", "arn:aws:iam::{account}:policy{path}{name}"),
    "aws_s3_bucket": ("bucket", "{name}"),
    "aws_cloudwatch_log_group": ("name", "{name}"),
    "aws_cloudwatch_metric_alarm": ("alarm_name", "{name}"),
    "aws_cloudwatch_composite_alarm": ("alarm_name", "{name}"),
    "aws_cloudwatch_dashboard": ("dashboard_name", "{name}"),
    "aws_kms_alias": ("name", "{name}"),
    "aws_sns_topic": ("name", "arn:aws:sns:{region}:{account}:{name}"),
    "aws_glue_catalog_database": ("name", "{account}:{name}"),
    "aws_glue_crawler": ("name", "{name}"),
    "aws_ecr_repository": ("name", "{name}"),
    "aws_eks_cluster": ("name", "{name}"),
    "aws_cloudtrail": ("name", "{name}"),
    "aws_sagemaker_model_package_group": ("model_package_group_name", "{name}"),
    "aws_sagemaker_model": ("name", "{name}"),
    "aws_sagemaker_endpoint_configuration": ("name", "{name}"),
    "aws_sagemaker_endpoint": ("name", "{name}"),
    "aws_budgets_budget": ("name", "{account}:{name}"),
    "aws_eks_addon": ("addon_name", "{cluster_name}:{name}"),
    "aws_secretsmanager_secret": ("name", "{lookup}"),
    "aws_security_group": ("name", "{lookup}"),
    "aws_ecr_pull_through_cache_rule": ("ecr_repository_prefix", "{name}"),
    "aws_eks_pod_identity_association": ("service_account", "{cluster_name},{lookup}"),
    "aws_vpc_security_group_ingress_rule": ("cidr_ipv4", "{lookup}"),
}
# The API's ingress rules go on the security group EKS made for the cluster, known only by its cluster.
CLUSTER_GROUP = re.compile(r"^\$\{aws_eks_cluster\.([\w-]+)\.vpc_config\[0\]\.cluster_security_group_id\}$")
REFERENCE = re.compile(r"^\$\{(aws_[a-z0-9_]+)\.([\w-]+)\.(name|bucket)\}$")


def import_ids(doc: dict, addresses: list[str], env: ResolvedEnv, target: Target) -> dict[str, str | None]:
    """The `terraform import` id of each address of a synthesized stack (`doc`), or None where the type
    is not known here or its name is only known after apply (a reference)."""
    region = env.blueprint.target.region
    account: list[str] = []

    def account_id() -> str:
        if not account:
            account.append(client(target, "sts", region).get_caller_identity()["Account"])
        return account[0]

    resources = doc.get("resource", {})

    def resolved(value: object) -> str | None:
        """A literal name, or the literal name of a resource it refers to (`${aws_x.y.name}`)."""
        if isinstance(value, str) and (m := REFERENCE.match(value)):
            value = resources.get(m.group(1), {}).get(m.group(2), {}).get(m.group(3))
        return value if isinstance(value, str) and "${" not in value else None

    def lookup(rtype: str, name: str, body: dict) -> str | None:
        """The id of an object that imports by an id the cloud made (an ARN, a group or rule id, an
        association id), found by what the stack says of it."""
        if rtype == "aws_secretsmanager_secret":
            return client(target, "secretsmanager", region).describe_secret(SecretId=name)["ARN"]
        if rtype == "aws_eks_pod_identity_association":
            found = client(target, "eks", region).list_pod_identity_associations(
                clusterName=resolved(body.get("cluster_name")),
                namespace=body.get("namespace"),
                serviceAccount=name,
            )["associations"]
            return found[0]["associationId"] if len(found) == 1 else None
        if rtype == "aws_vpc_security_group_ingress_rule":
            m = CLUSTER_GROUP.match(str(body.get("security_group_id", "")))
            cluster = resources.get("aws_eks_cluster", {}).get(m.group(1), {}).get("name") if m else None
            if not isinstance(cluster, str):
                return None
            config = client(target, "eks", region).describe_cluster(name=cluster)["cluster"]["resourcesVpcConfig"]
            rules = client(target, "ec2", region).describe_security_group_rules(
                Filters=[{"Name": "group-id", "Values": [config["clusterSecurityGroupId"]]}]
            )["SecurityGroupRules"]
            want = (name, body.get("ip_protocol"), body.get("from_port"), body.get("to_port"))
            ids = [
                r["SecurityGroupRuleId"]
                for r in rules
                if not r.get("IsEgress")
                and (r.get("CidrIpv4"), r.get("IpProtocol"), r.get("FromPort"), r.get("ToPort")) == want
            ]
            return ids[0] if len(ids) == 1 else None
        groups = client(target, "ec2", region).describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [name]}]
        )["SecurityGroups"]
        return groups[0]["GroupId"] if len(groups) == 1 else None

    out: dict[str, str | None] = {}
    for address in addresses:
        rtype, _, key = address.partition(".")
        body = resources.get(rtype, {}).get(key)
        known = IMPORT_IDS.get(rtype)
        value = resolved(body.get(known[0])) if body and known else None
        if body is None or known is None or value is None:
            out[address] = None
            continue
        fmt = known[1]
        fields = {"name": value, "region": region, "path": body.get("path") or "/"}
        if "{account}" in fmt:
            fields["account"] = account_id()
        if "{cluster_name}" in fmt:
            cluster = resolved(body.get("cluster_name"))
            if cluster is None:
                out[address] = None
                continue
            fields["cluster_name"] = cluster
        if "{lookup}" in fmt:
            found = lookup(rtype, value, body)
            if found is None:
                out[address] = None
                continue
            fields["lookup"] = found
        out[address] = fmt.format(**fields)
    return out


def bootstrap_state(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    """Create the state bucket (versioned, encrypted, private), and the legacy lock table when the
    blueprint names one, if they are missing."""
    from botocore.exceptions import ClientError

    region = env.blueprint.target.region
    bucket, table = state_names(env)
    s3 = client(target, "s3", region)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        report(f"creating state bucket {bucket}")
        kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **kwargs)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]
            },
        )
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    if table is None:
        return
    ddb = client(target, "dynamodb", region)
    try:
        ddb.describe_table(TableName=table)
    except ClientError:
        report(f"creating lock table {table}")
        ddb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            DeletionProtectionEnabled=env.settings.protect_stateful and not target.local,
        )


def delete_state(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    """Remove the state bucket (every version) and the lock table: only after a complete destroy."""
    from botocore.exceptions import ClientError

    region = env.blueprint.target.region
    bucket, table = state_names(env)
    s3 = client(target, "s3", region)
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket):
            objs = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if objs:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objs})
        s3.delete_bucket(Bucket=bucket)
        report(f"deleted state bucket {bucket}")
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NoSuchBucket", "404"):
            raise
    if table is None:
        return
    try:
        client(target, "dynamodb", region).delete_table(TableName=table)
        report(f"deleted lock table {table}")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def verify_with(env: ResolvedEnv, client: Callable[[str], Any]) -> list[Check]:
    """`client(service)` returns a boto3 client for the environment's region and endpoint."""
    from botocore.exceptions import ClientError

    bp = env.blueprint
    n = AwsNames(bp.metadata.name, env.name)
    c = bp.components
    out: list[Check] = []

    def describe(exc: Any) -> str:
        return f"{exc.response['Error'].get('Code')}: {exc.response['Error'].get('Message')}"

    check = run_checks(out, (ClientError,), describe)

    s3 = client("s3")

    def bucket_ok(name: str, versioned: bool) -> tuple[bool, str]:
        enc = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        algo = enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        ver = s3.get_bucket_versioning(Bucket=name).get("Status")
        pab = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        private = all(
            pab.get(k) for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        )
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
        alias = n.key_alias(purpose)
        check("baseline", alias, lambda a=alias: (a in aliases, "key alias present" if a in aliases else "missing"))
    iam = client("iam")
    for persona in PERSONAS:
        role = n.persona_role(persona)
        check("baseline", f"role {role}", lambda r=role: (iam.get_role(RoleName=r)["Role"]["RoleName"] == r, "present"))

    verify_audit(env, client, check, bucket_ok)
    if c.data_lake:
        for zone in c.data_lake.zones:
            name = n.bucket(zone)
            check("data_lake", name, lambda b=name: bucket_ok(b, c.data_lake.versioning))
    if c.catalog:
        glue = client("glue")
        for db in c.catalog.databases:
            name = n.glue_database(db)
            check(
                "catalog",
                f"database {name}",
                lambda d=name: (glue.get_database(Name=d)["Database"]["Name"] == d, "present"),
            )
    if c.training:
        verify_cluster_access(env, client("eks"), check)
    if c.registry:
        sm, ecr = client("sagemaker"), client("ecr")
        for model in c.registry.models:
            group = n.model_group(model)
            check(
                "registry",
                f"model group {group}",
                lambda g=group: (
                    sm.describe_model_package_group(ModelPackageGroupName=g)["ModelPackageGroupName"] == g,
                    "present",
                ),
            )
            repo = n.ecr_repository(model)

            def repo_ok(repo=repo, spec=c.registry) -> tuple[bool, str]:
                r = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
                mut, scan = r["imageTagMutability"], r["imageScanningConfiguration"]["scanOnPush"]
                want_mut = "IMMUTABLE" if spec.immutable_tags else "MUTABLE"
                ok = mut == want_mut and scan == spec.image_scanning
                return ok, f"tags {mut}, scan on push {scan}"

            check("registry", f"repository {repo}", repo_ok)
        check("registry", n.artifacts_bucket, lambda: bucket_ok(n.artifacts_bucket, True))
    if c.serving:
        sm = client("sagemaker")
        for name, ep in c.serving.endpoints.items():
            ep_name = n.endpoint(name)

            def ep_ok(ep_name=ep_name, ep=ep) -> tuple[bool, str]:
                d = sm.describe_endpoint(EndpointName=ep_name)
                cfg = sm.describe_endpoint_config(EndpointConfigName=d["EndpointConfigName"])
                capture = cfg.get("DataCaptureConfig", {})
                problems = []
                if d["EndpointStatus"] != "InService":
                    problems.append(f"status {d['EndpointStatus']}")
                if ep.capture_requests and not capture.get("EnableCapture"):
                    problems.append("data capture off")
                # SageMaker refuses a key for local instance storage (the hardware encrypts it): a missing
                # key is right exactly when a variant runs on such an instance type (the catalog's list).
                local = sorted(
                    {
                        v["InstanceType"]
                        for v in cfg.get("ProductionVariants", [])
                        if CATALOG.has_instance_storage(v.get("InstanceType", ""))
                    }
                )
                if not cfg.get("KmsKeyId") and not local:
                    problems.append("no KMS key")
                if capture.get("EnableCapture") and not capture.get("KmsKeyId"):
                    problems.append("captured data not KMS-encrypted")
                storage = f"storage encrypted by the hardware ({', '.join(local)})" if local else "KMS key"
                serves = served_model(env, sm, s3, cfg, ep, problems)
                return not problems, "; ".join(
                    problems
                ) or f"InService, {serves}, {storage}, capture {capture.get('InitialSamplingPercentage')} %"

            check("serving", f"endpoint {ep_name}", ep_ok)
    if c.monitoring:
        cw, sns = client("cloudwatch"), client("sns")
        alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix=n.prefix)["MetricAlarms"]}
        topic = next(
            (t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{n.alerts_topic}")), None
        )
        check("monitoring", f"topic {n.alerts_topic}", lambda: (topic is not None, "present" if topic else "missing"))
        if topic:
            subs = {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
            missing = set(c.monitoring.notify) - subs
            check(
                "monitoring",
                "subscribers",
                lambda: (not missing, f"missing {sorted(missing)}" if missing else f"{len(subs)} subscribed"),
            )
        expected = []
        for name in c.serving.endpoints if c.serving else {}:
            expected += [n.name(name, "latency-p99"), n.name(name, "error-rate"), n.name(name, "at-capacity")]
        for pool in c.training.pools if c.training else {}:
            expected.append(n.name(pool, "gpu-saturated"))
        for alarm in expected:

            def alarm_ok(alarm=alarm) -> tuple[bool, str]:
                a = alarms.get(alarm)
                if a is None:
                    return False, "missing"
                return (topic in a.get("AlarmActions", []), "notifies the alerts topic")

            check("monitoring", f"alarm {alarm}", alarm_ok)
    return out


def served_model(env: ResolvedEnv, sm: Any, s3: Any, cfg: dict, ep: Any, problems: list[str]) -> str:
    """What the endpoint configuration `cfg` serves on its `primary` variant, said for `verify`; what is
    wrong with it goes into `problems`. Before the first rollout, the stack's bootstrap model: AWS's
    scikit-learn image of the region, the stack's model.tar.gz (which must be in the artifacts bucket:
    without it the endpoint never became healthy) and the container environment that runs its code. After
    a promotion, a version of the endpoint's model group. With a non-default image tag, the registry image
    of that tag."""
    from botocore.exceptions import ClientError

    from mlops_blueprint.modules.serving.aws import BOOTSTRAP_ENVIRONMENT, bootstrap_key

    n = AwsNames(env.blueprint.metadata.name, env.name)
    primary = next((v for v in cfg.get("ProductionVariants", []) if v.get("VariantName") == PRIMARY), None)
    if primary is None:
        problems.append(f"no '{PRIMARY}' variant")
        return ""
    container = sm.describe_model(ModelName=primary["ModelName"]).get("PrimaryContainer", {})
    group = n.model_group(ep.model)
    package = container.get("ModelPackageName")
    if package:  # rollout models name their model package version: <group ARN path>/<group>/<version>
        parts = package.rsplit("/", 2)
        if len(parts) != 3 or parts[1].lower() != group.lower():
            problems.append(f"primary serves {package}, which is not a version of {group}")
        return f"model version {parts[-1]}"
    if ep.image_tag != BOOTSTRAP_TAG:
        want = f"/{n.ecr_repository(ep.model)}:{ep.image_tag}"
        if not str(container.get("Image", "")).endswith(want):
            problems.append(f"primary serves image {container.get('Image')}, expected {want.lstrip('/')}")
        return f"image tag {ep.image_tag}"
    region = env.blueprint.target.region
    image, data = bootstrap_image(region), f"s3://{n.artifacts_bucket}/{bootstrap_key(ep.model)}"
    if container.get("Image") != image:
        problems.append(f"bootstrap model runs {container.get('Image')}, expected {image}")
    if container.get("ModelDataUrl") != data:
        problems.append(f"bootstrap model data {container.get('ModelDataUrl')}, expected {data}")
    env_vars = container.get("Environment") or {}
    wrong = sorted(k for k, v in BOOTSTRAP_ENVIRONMENT.items() if env_vars.get(k) != v)
    if wrong:
        problems.append(
            f"bootstrap model environment lacks {', '.join(f'{k}={BOOTSTRAP_ENVIRONMENT[k]}' for k in wrong)}"
        )
    try:
        s3.head_object(Bucket=n.artifacts_bucket, Key=bootstrap_key(ep.model))
    except ClientError as exc:
        problems.append(f"bootstrap model data {data} missing ({exc.response['Error'].get('Code')})")
    return "bootstrap model (no rollout yet)"


def rollout_with(
    env: ResolvedEnv,
    endpoint: str,
    image_tag: str,
    traffic: int,
    client: Callable[[str], Any],
    artifact: str | None = None,
) -> RolloutResult:
    check_share(traffic)
    ep = endpoint_spec(env, endpoint)
    if image_tag == BOOTSTRAP_TAG:
        raise RolloutError(
            f"--image-tag {BOOTSTRAP_TAG}: that tag names the endpoint's bootstrap model, whose model.tar.gz the "
            "stack owns; roll out a tag of your own"
        )
    n = AwsNames(env.blueprint.metadata.name, env.name)
    sm, ecr, iam = client("sagemaker"), client("ecr"), client("iam")
    ep_name = n.endpoint(endpoint)
    current = sm.describe_endpoint(EndpointName=ep_name)
    config = sm.describe_endpoint_config(EndpointConfigName=current["EndpointConfigName"])
    variants = {v["VariantName"]: v for v in config["ProductionVariants"]}
    if PRIMARY not in variants:
        raise RolloutError(f"endpoint {ep_name} has no '{PRIMARY}' variant; was it deployed by this blueprint?")
    repo = ecr.describe_repositories(repositoryNames=[n.ecr_repository(ep.model)])["repositories"][0]
    image = f"{repo['repositoryUri']}:{image_tag}"
    data = artifact or f"s3://{n.artifacts_bucket}/{ep.model}/{image_tag}/model.tar.gz"
    result = RolloutResult(endpoint=ep_name, version="", traffic={})

    package = sm.create_model_package(
        ModelPackageGroupName=n.model_group(ep.model),
        ModelApprovalStatus="Approved",
        ModelPackageDescription=f"{ep.model} {image_tag}",
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataUrl": data}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    arn = package["ModelPackageArn"]
    version = arn.rsplit("/", 1)[-1]
    result.version = arn
    result.steps.append(f"registered model package {arn}")

    old_model = sm.describe_model(ModelName=variants[PRIMARY]["ModelName"])
    model_name = bounded(f"{ep_name}-v{version}", 63)
    sm.create_model(
        ModelName=model_name,
        ExecutionRoleArn=iam.get_role(RoleName=n.serving_role)["Role"]["Arn"],
        PrimaryContainer={"ModelPackageName": arn},
        EnableNetworkIsolation=True,
        **({"VpcConfig": old_model["VpcConfig"]} if old_model.get("VpcConfig") else {}),
    )
    result.steps.append(f"created model {model_name}")

    primary = variants[PRIMARY]
    # Size and replicas come from the blueprint, so a changed size lands with the next rollout.
    base = {"InstanceType": CATALOG.serving_instance(ep.size), "InitialInstanceCount": ep.min_replicas}
    if traffic == 100:
        new_variants = [dict(base, VariantName=PRIMARY, ModelName=model_name, InitialVariantWeight=1.0)]
        result.traffic = {PRIMARY: 100}
    else:
        new_variants = [
            dict(base, VariantName=PRIMARY, ModelName=primary["ModelName"], InitialVariantWeight=float(100 - traffic)),
            dict(
                base,
                VariantName=CANARY,
                ModelName=model_name,
                InitialInstanceCount=1,
                InitialVariantWeight=float(traffic),
            ),
        ]
        result.traffic = {PRIMARY: 100 - traffic, CANARY: traffic}
    config_name = bounded(f"{ep_name}-v{version}-{traffic}", 63)
    extra = {k: config[k] for k in ("KmsKeyId", "DataCaptureConfig") if config.get(k)}
    # SageMaker refuses a KmsKeyId when a variant has local instance storage (the hardware encrypts it), and
    # a changed size may move the endpoint onto or off such a type: the key follows the new instance type.
    if CATALOG.has_instance_storage(CATALOG.serving_instance(ep.size) or ""):
        extra.pop("KmsKeyId", None)
    elif "KmsKeyId" not in extra:
        extra["KmsKeyId"] = n.key_alias("ml")  # CreateEndpointConfig takes an alias name
    sm.create_endpoint_config(EndpointConfigName=config_name, ProductionVariants=new_variants, **extra)
    result.steps.append(f"created endpoint configuration {config_name}")
    sm.update_endpoint(EndpointName=ep_name, EndpointConfigName=config_name)
    result.steps.append(f"updated endpoint {ep_name}: " + ", ".join(f"{k} {v}%" for k, v in result.traffic.items()))
    return result


def cleanup_rollouts_with(env: ResolvedEnv, client: Callable[[str], Any], report: Reporter) -> None:
    """What `rollout` created and Terraform does not know: every model package version in the
    blueprint's model groups (before Terraform deletes the groups: AWS refuses to delete a group
    that still holds versions), and the rollout models and endpoint configurations (named
    `<endpoint>-v<version>...`) that their endpoint no longer uses. `down` calls it before the
    destroy, and again after it, when the endpoints are gone and nothing is in use any more."""
    from botocore.exceptions import ClientError

    c = env.blueprint.components
    n = AwsNames(env.blueprint.metadata.name, env.name)
    sm = client("sagemaker")

    def gone(exc: ClientError) -> bool:
        err = exc.response["Error"]
        return err.get("Code") in ("ValidationException", "ResourceNotFound") and (
            "not found" in err.get("Message", "").lower()
            or "could not find" in err.get("Message", "").lower()
            or "does not exist" in err.get("Message", "").lower()
        )

    for model in c.registry.models if c.registry else []:
        group = n.model_group(model)
        pages = sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group)
        try:
            arns = [p["ModelPackageArn"] for page in pages for p in page["ModelPackageSummaryList"]]
        except ClientError as exc:
            if not gone(exc):
                raise
            continue
        for arn in arns:
            sm.delete_model_package(ModelPackageName=arn)
            report(f"deleted model version {arn}")

    for name in c.serving.endpoints if c.serving else {}:
        ep_name = n.endpoint(name)
        prefix = f"{ep_name}-v"
        in_use: set[str] = set()
        try:
            current = sm.describe_endpoint(EndpointName=ep_name)["EndpointConfigName"]
            config = sm.describe_endpoint_config(EndpointConfigName=current)
            in_use = {current, *(v["ModelName"] for v in config["ProductionVariants"])}
        except ClientError as exc:
            if exc.response["Error"].get("Code") not in ("ValidationException", "ResourceNotFound"):
                raise
        configs = [
            cfg["EndpointConfigName"]
            for page in sm.get_paginator("list_endpoint_configs").paginate(NameContains=prefix)
            for cfg in page["EndpointConfigs"]
        ]
        for cfg_name in configs:
            if cfg_name.startswith(prefix) and cfg_name not in in_use:
                sm.delete_endpoint_config(EndpointConfigName=cfg_name)
                report(f"deleted rollout endpoint configuration {cfg_name}")
        models = [
            m["ModelName"]
            for page in sm.get_paginator("list_models").paginate(NameContains=prefix)
            for m in page["Models"]
        ]
        for model_name in models:
            if model_name.startswith(prefix) and model_name not in in_use:
                sm.delete_model(ModelName=model_name)
                report(f"deleted rollout model {model_name}")


def cleanup_rollouts(env: ResolvedEnv, target: Target, report: Reporter) -> None:
    """Delete the model versions, models and endpoint configurations rollouts created (see `cleanup_rollouts_with`)."""
    region = env.blueprint.target.region
    cleanup_rollouts_with(env, lambda service: client(target, service, region), report)


def sweep_untracked(
    env: ResolvedEnv, target: Target, state: dict | None, report: Reporter, backend: dict | None = None
) -> list[str]:
    """Objects with this environment's tags that its state (`state`, read just before; None once
    destroyed) does not hold: deleted on the emulator, listed on a cloud (scripts/glue/aws_untracked.py).
    On a cloud the listing is advice: when the credentials may not read it, or the API cannot be
    reached, it is skipped with a note."""
    from botocore.exceptions import BotoCoreError, ClientError

    region = env.blueprint.target.region
    try:
        found = sweep_with(env, lambda service: client(target, service, region), state, report, target.local, backend)
    except (ClientError, BotoCoreError) as exc:
        if target.local:
            raise
        code = exc.response["Error"].get("Code", exc) if isinstance(exc, ClientError) else exc
        report(f"untracked objects not listed: {code}")
        return []
    return [str(item) for item in found]


def verify(env: ResolvedEnv, target: Target) -> list[Check]:
    region = env.blueprint.target.region
    return verify_with(env, lambda service: client(target, service, region))


def rollout(
    env: ResolvedEnv, endpoint: str, image_tag: str, traffic: int, target: Target, artifact: str | None = None
) -> RolloutResult:
    region = env.blueprint.target.region
    return rollout_with(env, endpoint, image_tag, traffic, lambda service: client(target, service, region), artifact)


def verify_audit(
    env: ResolvedEnv,
    client: Callable[[str], Any],
    check: Callable[..., None],
    bucket_ok: Callable[[str, bool], tuple[bool, str]],
) -> None:
    """The audit trail is logging S3 data events of every lake bucket into the object-locked log bucket,
    the VPC's flow logs go there too, and (with training and monitoring) the CloudWatch Observability
    add-on that makes the GPU metrics is active with accelerated-compute metrics on."""
    import json

    from mlops_blueprint.modules.monitoring.aws import OBSERVABILITY_ADDON

    bp = env.blueprint
    n = AwsNames(bp.metadata.name, env.name)
    c = bp.components
    trail, log_bucket = n.name("audit"), n.bucket("audit-logs")
    s3, cloudtrail = client("s3"), client("cloudtrail")

    def log_bucket_ok() -> tuple[bool, str]:
        ok, note = bucket_ok(log_bucket, True)
        lock = s3.get_object_lock_configuration(Bucket=log_bucket)["ObjectLockConfiguration"]
        mode = lock.get("Rule", {}).get("DefaultRetention", {}).get("Mode")
        if lock.get("ObjectLockEnabled") != "Enabled" or mode != "GOVERNANCE":
            return False, f"object lock {lock.get('ObjectLockEnabled')} ({mode}), expected GOVERNANCE"
        return ok, f"{note}, object lock GOVERNANCE" if ok else note

    def trail_ok() -> tuple[bool, str]:
        status = cloudtrail.get_trail_status(Name=trail)
        [t] = cloudtrail.describe_trails(trailNameList=[trail])["trailList"]
        selectors = cloudtrail.get_event_selectors(TrailName=trail).get("AdvancedEventSelectors") or []
        watched: list[str] = []
        for sel in selectors:
            fields = {f["Field"]: f for f in sel["FieldSelectors"]}
            if fields.get("eventCategory", {}).get("Equals") == ["Data"]:
                watched += fields.get("resources.ARN", {}).get("StartsWith", [])
        lake = [n.bucket(z) for z in (c.data_lake.zones if c.data_lake else [])]
        unwatched = [b for b in lake if not any(w.startswith(f"arn:aws:s3:::{b}/") for w in watched)]
        problems = []
        if not status.get("IsLogging"):
            problems.append("not logging")
        if t.get("S3BucketName") != log_bucket:
            problems.append(f"logs to {t.get('S3BucketName')}, expected {log_bucket}")
        if not t.get("KmsKeyId"):
            problems.append("log files not KMS-encrypted")
        if unwatched:
            problems.append(f"no S3 data events for {unwatched}")
        return not problems, "; ".join(problems) or f"logging, S3 data events on {len(watched)} buckets"

    def flow_logs_ok() -> tuple[bool, str]:
        ec2 = client("ec2")
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [n.name("vpc")]}])["Vpcs"]
        if not vpcs:
            return False, f"no VPC named {n.name('vpc')}"
        if len(vpcs) > 1:  # an object without a name of its own cannot be adopted after a killed run
            extra = ", ".join(v["VpcId"] for v in vpcs)
            return False, f"{len(vpcs)} VPCs named {n.name('vpc')} ({extra}): an interrupted run left one behind"
        flows = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpcs[0]["VpcId"]]}])["FlowLogs"]
        into = f"arn:aws:s3:::{log_bucket}"
        ok = any(f.get("TrafficType") == "ALL" and f.get("LogDestination") == into for f in flows)
        return ok, f"ALL traffic to {into}" if ok else f"no flow log of ALL traffic to {into} ({len(flows)} others)"

    check("baseline", f"audit bucket {log_bucket}", log_bucket_ok)
    check("baseline", f"trail {trail}", trail_ok)
    check("baseline", "VPC flow logs", flow_logs_ok)
    if c.training and c.monitoring:
        eks = client("eks")

        def addon_ok() -> tuple[bool, str]:
            addon = eks.describe_addon(clusterName=n.cluster, addonName=OBSERVABILITY_ADDON)["addon"]
            config = json.loads(addon.get("configurationValues") or "{}")
            k8s = config.get("agent", {}).get("config", {}).get("logs", {}).get("metrics_collected", {})
            gpu = k8s.get("kubernetes", {}).get("accelerated_compute_metrics") is True
            ok = addon["status"] == "ACTIVE" and gpu and bool(addon.get("podIdentityAssociations"))
            return ok, f"{addon['status']}, GPU metrics {'on' if gpu else 'off'}"

        check("monitoring", f"add-on {OBSERVABILITY_ADDON}", addon_ok)


def verify_cluster_access(env: ResolvedEnv, eks: Any, check: Callable[..., None]) -> None:
    """The training cluster runs in Auto Mode with access entries only, and exactly the personas the
    blueprint lets train have an entry, with the EKS edit policy scoped to the training namespace."""
    from mlops_blueprint.modules.training.aws import EDIT_POLICY, TRAINING_NAMESPACE

    bp = env.blueprint
    n = AwsNames(bp.metadata.name, env.name)
    cluster = n.cluster

    def cluster_ok() -> tuple[bool, str]:
        c = eks.describe_cluster(name=cluster)["cluster"]
        mode = c.get("accessConfig", {}).get("authenticationMode")
        compute = c.get("computeConfig", {})
        problems = []
        if mode not in ("API", "API_AND_CONFIG_MAP"):
            problems.append(f"authentication mode {mode}: access entries need API or API_AND_CONFIG_MAP")
        if not compute.get("enabled"):
            problems.append("Auto Mode compute is off: nothing provisions the GPU NodePools")
        elif "system" not in compute.get("nodePools", []):
            problems.append(f"built-in node pools {compute.get('nodePools')}: no system capacity")
        return not problems, "; ".join(problems) or f"Auto Mode ({', '.join(compute['nodePools'])}), {mode}"

    check("training", f"cluster {cluster}", cluster_ok)
    entries = {arn.rsplit("/", 1)[-1]: arn for arn in eks.list_access_entries(clusterName=cluster)["accessEntries"]}
    for persona in PERSONAS:
        role = n.persona_role(persona)
        wanted = bool(getattr(bp.access, persona).training)

        def entry_ok(role=role, wanted=wanted) -> tuple[bool, str]:
            arn = entries.get(role)
            if not wanted:
                return arn is None, "no access entry" if arn is None else "has an access entry it should not have"
            if arn is None:
                return False, "no access entry"
            policies = eks.list_associated_access_policies(clusterName=cluster, principalArn=arn)
            scoped = [p["accessScope"] for p in policies["associatedAccessPolicies"] if p["policyArn"] == EDIT_POLICY]
            ok = scoped == [{"type": "namespace", "namespaces": [TRAINING_NAMESPACE]}]
            return ok, f"edit in {TRAINING_NAMESPACE}" if ok else f"edit policy scopes {scoped}"

        check("training", f"access entry {role}", entry_ok)


# --------------------------------------------------------------------------------------------- the glue


class AwsGlue(ModuleGlue):
    """The AWS glue: boto3 (S3 state, SageMaker rollouts), with the untracked-object sweep and the import ids
    of objects an apply found already there."""

    capabilities = frozenset({Capability.SWEEP_UNTRACKED, Capability.IMPORT_IDS})

    def cleanup_rollouts(self, env: ResolvedEnv, target: Target, report: Reporter) -> None:
        cleanup_rollouts(env, target, report)

    def sweep_untracked(
        self, env: ResolvedEnv, target: Target, state: dict | None, report: Reporter, backend: dict | None = None
    ) -> list[str]:
        return sweep_untracked(env, target, state, report, backend=backend)

    def import_ids(self, doc: dict, addresses: list[str], env: ResolvedEnv, target: Target) -> dict[str, str | None]:
        return import_ids(doc, addresses, env, target)


GLUE = AwsGlue()
