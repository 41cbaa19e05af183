"""What AWS offers in the blueprint's neutral words (reviewed 2026-11; `aws ec2
describe-instance-type-offerings` is the live truth)."""

from __future__ import annotations

from mlops_blueprint.blueprints.registry import Catalog

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
    state_backend="s3",
    sharing_note="EKS managed node groups share no GPU by themselves; GKE, AKS (MIG) and on-prem do",
)
