import pytest

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.naming import NameRuleError
from mlops_blueprint.stacks.aws.names import AwsNames as Naming
from mlops_blueprint.stacks.aws.names import aws_bucket

AWS = registry.get("aws").catalog


def test_names_are_prefix_plus_logical_name():
    n = Naming("fraud", "prod")
    assert n.bucket("raw") == "fraud-prod-raw"
    assert n.glue_database("sales") == "fraud_prod_sales"
    assert n.ecr_repository("scorer") == "fraud-prod/scorer"
    assert n.state_bucket() == "fraud-prod-tfstate" and n.lock_table() == "fraud-prod-tflock"


@pytest.mark.parametrize(
    "bad, rule",
    [
        ("ab", "3 to 63"),
        ("a" * 64, "3 to 63"),
        ("Upper-case", "lowercase"),
        ("-lead", "start and end"),
        ("a..b", "reserved"),
        ("192.168.1.1", "reserved"),
        ("xn--abc", "reserved"),
        ("name-s3alias", "reserved"),
    ],
)
def test_bucket_rules(bad, rule):
    with pytest.raises(NameRuleError, match=rule):
        aws_bucket(bad)


def test_iam_role_length_limit():
    with pytest.raises(NameRuleError, match="limit is 64"):
        Naming("x" * 40, "dev").iam_role("data-scientists-and-more")


@pytest.mark.parametrize(
    "acc, gpus, instance",
    [
        ("nvidia-a10g", 1, "g5.xlarge"),
        ("nvidia-a10g", 8, "g5.48xlarge"),
        ("nvidia-t4", 4, "g4dn.12xlarge"),
        ("nvidia-l4", 1, "g6.xlarge"),
        ("nvidia-a100", 8, "p4d.24xlarge"),
        ("nvidia-h100", 8, "p5.48xlarge"),
    ],
)
def test_aws_accelerator_mapping(acc, gpus, instance):
    assert AWS.training_instance(acc, gpus) == instance


def test_unmappable_choices_have_no_instance():
    assert AWS.training_instance("google-tpu-v5e", 1) is None
    assert AWS.training_instance("nvidia-a100", 1) is None


def test_aws_serving_sizes():
    assert {s: AWS.serving_instance(s) for s in ("cpu-small", "cpu-medium", "gpu-small")} == {
        "cpu-small": "ml.m5.large",
        "cpu-medium": "ml.m5.xlarge",
        "gpu-small": "ml.g5.xlarge",
    }


@pytest.mark.parametrize("pool", ["system", "general-purpose"])
def test_an_aws_pool_may_not_take_an_auto_mode_built_in_node_pool_name(tmp_path, pool):
    """EKS Auto Mode's built-in NodePools `system` and `general-purpose` live where the training pools'
    NodePools go: a pool of that name would overwrite one. Refused at the pool's line."""
    from typer.testing import CliRunner

    from mlops_blueprint.scripts.cli import app
    from tests.conftest import ROOT

    text = (ROOT / "blueprints/reference/starter.yaml").read_text().replace("      gpu-a: {", f"      {pool}: {{")
    path = tmp_path / "bp.yaml"
    path.write_text(text)
    line = text.splitlines().index(next(x for x in text.splitlines() if x.startswith(f"      {pool}: "))) + 1
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert f"{path}:{line}:" in out and "taken by Auto Mode's built-in pool" in out, out
    assert Naming.node_pool("gpu-a") == "gpu-a"


def test_the_gpu_table_gives_each_sharing_mode_its_quota():
    """The one GPU table (blueprints/neutral.py): every MIG profile of every accelerator, a whole-GPU pool
    and a time-sliced one, each with the quota its nodes can hold."""
    from mlops_blueprint.blueprints.model import Pool
    from mlops_blueprint.blueprints.neutral import MIG_PROFILES, GpuQuota, gpu_quota

    def pool(accelerator, **sharing):
        return Pool.model_validate(
            {"accelerator": accelerator, "gpus_per_node": 8, "max_nodes": 2, "sharing": sharing or {"mode": "none"}}
        )

    for accelerator, profiles in MIG_PROFILES.items():
        for profile, per_gpu in profiles.items():
            compute = int(profile.split("g.")[0])
            assert 1 <= per_gpu <= 7 // compute, (accelerator, profile)
            got = gpu_quota(pool(accelerator, mode="mig", profile=profile))
            assert got == GpuQuota(f"nvidia.com/mig-{profile}", 16 * per_gpu)
    # a 1g.10gb slice is 4 per GPU on the 40 GB A100 and 7 on the 80 GB part: the neutral A100 counts 4
    assert MIG_PROFILES["nvidia-a100"]["1g.10gb"] == 4 and MIG_PROFILES["nvidia-h100"]["1g.10gb"] == 7
    assert gpu_quota(pool("nvidia-t4", mode="time-slicing", replicas=4)) == GpuQuota("nvidia.com/gpu", 64)
    assert gpu_quota(pool("nvidia-l4")) == GpuQuota("nvidia.com/gpu", 16)
    assert gpu_quota(pool("google-tpu-v5e")) == GpuQuota("google.com/tpu", 16)
