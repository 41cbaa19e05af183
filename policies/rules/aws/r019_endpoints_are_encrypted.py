"""MLOPS_AWS_019: Serving endpoint storage is encrypted with a KMS key, or by the instance's hardware.

An endpoint configuration names the KMS key for its instances' storage volumes (`kms_key_arn`). On an
instance type with local instance storage (the AWS catalog's `serving_instance_storage`: ml.g5, ml.g4dn,
ml.p4d, ...) SageMaker refuses a key, "the call to CreateEndpointConfig fails", and the instance's hardware
module encrypts that storage (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html).
So: a configuration with such a variant passes without a key and fails with one (its apply would fail);
every other configuration needs a key. An instance type the rule cannot read (not a plain string) counts
as one without instance storage, so the key is demanded (fail closed).
"""

from mlops_blueprint.blueprints import registry
from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list


def instance_types(body: dict) -> list[object]:
    return [v.get("instance_type") for v in as_list(body.get("production_variants")) if isinstance(v, dict)]


@rule(
    id="MLOPS_AWS_019",
    name="Serving endpoint storage is encrypted: with a KMS key, or by the hardware on instance-store types",
    severity="high",
    category="serving",
    applies_to=("aws_sagemaker_endpoint_configuration",),
)
def check(d: Doc):
    catalog = registry.get("aws").catalog
    for addr, b in d.of("aws_sagemaker_endpoint_configuration"):
        local = sorted(
            {t for t in instance_types(b) if isinstance(t, str) and "${" not in t and catalog.has_instance_storage(t)}
        )
        key = bool(b.get("kms_key_arn"))
        if local and key:
            yield (
                addr,
                False,
                f"kms_key_arn is set, but {', '.join(local)} has local instance storage: SageMaker refuses the key "
                "(CreateEndpointConfig fails); leave it out, the hardware encrypts that storage",
            )
        elif local:
            yield addr, True, ""
        else:
            yield addr, key, "" if key else "kms_key_arn is not set"
