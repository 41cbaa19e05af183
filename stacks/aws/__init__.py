"""AWS: the cloud package. Everything AWS-specific is reached through `CLOUD`.

Its parts: the catalog (`catalog.py`), physical names (`names.py`), the stack with the provider and
the S3 backend (`stack.py`), the constructs (`modules/<component>/aws.py`), the policy rules
(`policies/rules/aws/`), the glue (`scripts/glue/aws.py`: state bootstrap, verify, rollout) and
the embedded emulator (`scripts/emulator.py`). Importing this package loads no provider bindings.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_blueprint.blueprints.registry import Cloud
from mlops_blueprint.stacks.aws.catalog import (
    BOOTSTRAP_TAG,
    CATALOG,
    SKLEARN_INFERENCE_ACCOUNTS,
    SKLEARN_INFERENCE_TAG,
)
from mlops_blueprint.stacks.aws.names import AwsNames, name_checks


def environment_of(doc: dict) -> str:
    """The blueprint environment of a synthesized stack: the provider's default tags."""
    for p in doc.get("provider", {}).get("aws", []):
        for dt in p.get("default_tags", []):
            env = dt.get("tags", {}).get("mlops:environment")
            if env:
                return str(env)
    return ""


def checks(bp) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """An endpoint with the default image tag serves the bootstrap model until its first rollout, on AWS's
    scikit-learn inference image, which AWS publishes per region (the catalog's vendored map): a supported
    region without it is refused at target.region. A region the catalog does not support at all is
    refused by the generic rule already (blueprints/rules.py)."""
    region, serving = bp.target.region, bp.components.serving
    if serving is None or region not in CATALOG.regions or region in SKLEARN_INFERENCE_ACCOUNTS:
        return
    bootstrapped = [name for name, ep in serving.endpoints.items() if ep.image_tag == BOOTSTRAP_TAG]
    if not bootstrapped:
        return
    allowed = ", ".join(r for r in CATALOG.regions if r in SKLEARN_INFERENCE_ACCOUNTS)
    yield (
        ("target", "region"),
        (
            f"region {region!r} has no SageMaker scikit-learn inference image ({SKLEARN_INFERENCE_TAG}), which "
            f"endpoint(s) {', '.join(bootstrapped)} serve until their first rollout; regions with it: {allowed}"
        ),
    )


CLOUD = Cloud(
    name="aws",
    title="AWS",
    catalog=CATALOG,
    names=AwsNames,
    name_checks=name_checks,
    target_fields={"account_id": "the AWS account the stacks may deploy to"},
    required_target_fields=(),
    stateful_types={
        "aws_s3_bucket": "lake or registry bucket",
        "aws_glue_catalog_database": "catalog database",
        "aws_ecr_repository": "image repository",
        "aws_sagemaker_model_package_group": "model registry group",
        "aws_kms_key": "encryption key",
        "aws_dynamodb_table": "state lock table",
    },
    provider_keys=("aws",),
    environment_of=environment_of,
    rules_package="mlops_blueprint.policies.rules.aws",
    stack="mlops_blueprint.stacks.aws.stack:AwsEnvironmentStack",
    cluster_stack="mlops_blueprint.stacks.aws.cluster:AwsClusterStack",
    glue="mlops_blueprint.scripts.glue.aws:GLUE",
    emulator="mlops_blueprint.scripts.emulator",
    checks=checks,
)
