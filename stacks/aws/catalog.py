"""What AWS offers in the blueprint's neutral words (reviewed 2026-11; `aws ec2
describe-instance-type-offerings` is the live truth)."""

from __future__ import annotations

from mlops_blueprint.blueprints.registry import Catalog, KubernetesRelease

# EKS release calendar (end of standard support, end of extended support; UTC days), reviewed 2026-11-24
# from https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html ("Amazon EKS
# Kubernetes release calendar"; 1.35 as published there in 2026). 1.36 was not in the copy reviewed:
# its dates follow EKS's stated policy (14 months standard + 12 months extended after an EKS release
# estimated for June 2026) and are marked as estimates. `aws eks describe-cluster-versions` is the
# live truth.
KUBERNETES = {
    "1.29": KubernetesRelease("2025-03-23", "2026-03-23"),
    "1.30": KubernetesRelease("2025-07-23", "2026-07-23"),
    "1.31": KubernetesRelease("2025-11-26", "2026-11-26"),
    "1.32": KubernetesRelease("2026-03-23", "2027-03-23"),
    "1.33": KubernetesRelease("2026-07-29", "2027-07-29"),
    "1.34": KubernetesRelease("2026-12-02", "2027-12-02"),
    "1.35": KubernetesRelease("2027-03-27", "2028-03-27"),
    "1.36": KubernetesRelease("2027-08-31", "2028-08-31", estimate=True),
}

CATALOG = Catalog(
    reviewed="2026-11",
    regions=(
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-west-2",
        "eu-central-1",
        "eu-north-1",
        "ap-northeast-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
    ),
    training={
        "nvidia-t4": {1: "g4dn.xlarge", 4: "g4dn.12xlarge", 8: "g4dn.metal"},
        "nvidia-a10g": {1: "g5.xlarge", 4: "g5.12xlarge", 8: "g5.48xlarge"},
        "nvidia-l4": {1: "g6.xlarge", 4: "g6.12xlarge", 8: "g6.48xlarge"},
        "nvidia-a100": {8: "p4d.24xlarge"},
        "nvidia-h100": {8: "p5.48xlarge"},
    },
    nearest={"google-tpu-v5e": "nvidia-l4"},
    serving={
        "cpu-small": "ml.m5.large",
        "cpu-medium": "ml.m5.xlarge",
        "cpu-large": "ml.m5.4xlarge",
        "gpu-small": "ml.g5.xlarge",
        "gpu-medium": "ml.g5.2xlarge",
    },
    # SageMaker refuses an endpoint configuration's KmsKeyId when a variant runs on an instance type with
    # local instance storage ("the call to CreateEndpointConfig fails"); that storage is encrypted by a
    # hardware module on the instance instead (CreateEndpointConfig KmsKeyId,
    # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html). The SageMaker
    # docs name ml.p4d, ml.g4dn and ml.g5 as NVMe instance-store families (ResourceConfig VolumeSizeInGB,
    # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceConfig.html); the others are the
    # instance-store families of EC2's list (`aws ec2 describe-instance-types --filters
    # Name=instance-storage-supported,Values=true` is the live truth). Here: gpu-small and gpu-medium.
    serving_instance_storage=(
        "ml.g4dn.",
        "ml.g5.",
        "ml.g6.",
        "ml.g6e.",
        "ml.p3dn.",
        "ml.p4d.",
        "ml.p4de.",
        "ml.p5.",
        "ml.m5d.",
        "ml.c5d.",
        "ml.r5d.",
    ),
    state_backend="s3",
    kubernetes_versions=tuple(KUBERNETES),
    kubernetes_support=KUBERNETES,
    kubernetes_source="https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html",
    kubernetes_reviewed="2026-11-24",
    extended_support_cost=(
        "EKS bills extended support at $0.60 per cluster-hour instead of $0.10 (about $365 more a month per "
        "cluster); at its end EKS upgrades the control plane by itself"
    ),
    sharing_note="EKS managed node groups share no GPU by themselves; GKE, AKS (MIG) and on-prem do",
)


# The serving endpoints' bootstrap model (what an endpoint serves until the first `rollout`) runs AWS's
# prebuilt SageMaker scikit-learn inference container, 1.2-1, cpu, py3, pulled from AWS's registry account
# of the region: `<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3`.
# Vendored: the "inference" -> "1.2-1" -> "registries" map of aws/sagemaker-python-sdk
# src/sagemaker/image_uri_config/sklearn.json at commit 9d4ef0ec11db47d98a85ab79707bae23fad389a2
# (2024-09-10, the file's last change at that path; the same map is in
# sagemaker-core/src/sagemaker/core/image_uri_config/sklearn.json at a24812666d258d9d19c9a82d0c9385ca0bd3ba01,
# 2026-08-21), reviewed 2026-11-24. Only the `aws` partition's regions: the stacks build `arn:aws:` ARNs,
# and the China, GovCloud and ISO entries have other ARN partitions or registry domains. The tag is the
# SDK's `<version>-<processor>-<py_version>` (image_uris._format_tag). A region missing here is a
# validation error at target.region when the blueprint has serving (stacks/aws/__init__.py `checks`).
# The image tag (components.serving.endpoints.*.image_tag) that asks for the bootstrap model: the default.
BOOTSTRAP_TAG = "bootstrap"
SKLEARN_INFERENCE_VERSION = "1.2-1"
SKLEARN_INFERENCE_REPOSITORY = "sagemaker-scikit-learn"
SKLEARN_INFERENCE_TAG = f"{SKLEARN_INFERENCE_VERSION}-cpu-py3"
SKLEARN_INFERENCE_ACCOUNTS: dict[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


def bootstrap_image(region: str) -> str | None:
    """The bootstrap model's image in `region` (AWS's scikit-learn inference container), or None where
    AWS publishes none that the map above knows."""
    account = SKLEARN_INFERENCE_ACCOUNTS.get(region)
    if account is None:
        return None
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{SKLEARN_INFERENCE_REPOSITORY}:{SKLEARN_INFERENCE_TAG}"


def bootstrap_repository_arn(region: str) -> str | None:
    """The ECR repository of `bootstrap_image(region)`: what the serving role may pull from."""
    account = SKLEARN_INFERENCE_ACCOUNTS.get(region)
    return None if account is None else f"arn:aws:ecr:{region}:{account}:repository/{SKLEARN_INFERENCE_REPOSITORY}"
