"""MLOPS_AWS_028: AWS services are reached through VPC endpoints, with no internet gateway."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc


@rule(
    id="MLOPS_AWS_028",
    name="AWS services are reached through VPC endpoints, with no internet gateway",
    severity="high",
    category="baseline",
    applies_to=("aws_vpc",),
)
def check(d: Doc):
    needed = {"sagemaker.runtime", "sagemaker.api", "s3", "ecr.dkr", "sts"}
    for addr, _ in d.of("aws_vpc"):
        have = {
            str(b.get("service_name", "")).split(".", 3)[-1]
            for _, b in d.referencing("aws_vpc_endpoint", addr, "vpc_id")
        }
        igw = d.referencing("aws_internet_gateway", addr, "vpc_id")
        missing = needed - have
        ok = not missing and not igw
        yield (
            addr,
            ok,
            "" if ok else f"missing endpoints {sorted(missing)}" + ("; an internet gateway is attached" if igw else ""),
        )
