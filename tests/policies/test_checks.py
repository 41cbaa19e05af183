"""The value-check helper: one attribute of one resource type against one expected value."""

import pytest

from mlops_blueprint.policies import engine
from mlops_blueprint.policies.checks import ANY_VALUE, matches, value_check, value_rule
from mlops_blueprint.policies.engine import all_rules, run_rule
from mlops_blueprint.policies.tfjson import Doc

PROVIDER = {"aws": [{"region": "eu-central-1"}]}


def ecr(**repos: dict) -> Doc:
    return Doc({"provider": PROVIDER, "resource": {"aws_ecr_repository": repos}})


@pytest.fixture
def fresh_registry(monkeypatch):
    monkeypatch.setattr(engine, "_REGISTRY", {})
    return engine._REGISTRY


def test_value_rule_registers_a_rule_that_passes_and_fails_documents(fresh_registry):
    r = value_rule(
        id="MLOPS_AWS_990",
        name="Image repositories scan every pushed image",
        severity="medium",
        category="registry",
        resource_type="aws_ecr_repository",
        path=("image_scanning_configuration", "scan_on_push"),
        expected=True,
        message="scan_on_push is not true",
    )
    assert fresh_registry == {"MLOPS_AWS_990": r}
    assert (r.layer, r.applies_to, r.module) == ("resource", ("aws_ecr_repository",), __name__)

    good = ecr(
        a={"image_scanning_configuration": {"scan_on_push": True}},
        b={"image_scanning_configuration": [{"scan_on_push": True}]},
    )  # a block as a one-item list
    assert [(f.address, f.passed, f.message) for f in run_rule(r, str, good)] == [
        ("aws_ecr_repository.a", True, ""),
        ("aws_ecr_repository.b", True, ""),
    ]

    bad = ecr(
        a={"image_scanning_configuration": {"scan_on_push": False}},
        b={},
        c={"image_scanning_configuration": None},
        d={"image_scanning_configuration": {"scan_on_push": "true"}},
    )
    assert [(f.address, f.passed, f.message, f.error) for f in run_rule(r, str, bad)] == [
        (f"aws_ecr_repository.{n}", False, "scan_on_push is not true", False) for n in "abcd"
    ]


def test_value_rule_in_a_cloud_folder_belongs_to_that_cloud(fresh_registry):
    r = value_rule(
        id="MLOPS_GCP_990",
        name="x",
        severity="low",
        category="t",
        resource_type="google_storage_bucket",
        path=("versioning", "enabled"),
        expected=True,
        message="m",
        module="mlops_blueprint.policies.rules.gcp.r990_example",
    )
    assert r.cloud == "gcp"


def test_any_value_means_set_and_not_empty():
    check = value_check("aws_sns_topic", ("kms_master_key_id",), ANY_VALUE, "kms_master_key_id is not set")
    doc = Doc(
        {
            "resource": {
                "aws_sns_topic": {
                    "ok": {"kms_master_key_id": "${aws_kms_key.k.arn}"},
                    "missing": {},
                    "empty": {"kms_master_key_id": ""},
                    "null": {"kms_master_key_id": None},
                }
            }
        }
    )
    assert list(check(doc)) == [
        ("aws_sns_topic.ok", True, ""),
        ("aws_sns_topic.missing", False, "kms_master_key_id is not set"),
        ("aws_sns_topic.empty", False, "kms_master_key_id is not set"),
        ("aws_sns_topic.null", False, "kms_master_key_id is not set"),
    ]


@pytest.mark.parametrize(
    "value, expected, ok",
    [
        (True, True, True),
        (1, True, False),
        ("true", True, False),
        (None, True, False),
        (False, False, True),
        ("IMMUTABLE", "IMMUTABLE", True),
        ("MUTABLE", "IMMUTABLE", False),
        (0, False, False),
    ],
)
def test_matches_compares_value_and_type(value, expected, ok):
    assert matches(value, expected) is ok


def test_a_path_must_be_a_tuple_of_names():
    with pytest.raises(ValueError, match="tuple of names"):
        value_check("aws_kms_key", "enable_key_rotation", True, "m")
    with pytest.raises(ValueError, match="tuple of names"):
        value_check("aws_kms_key", (), True, "m")


@pytest.mark.parametrize(
    "rid",
    [
        "MLOPS_AWS_006",
        "MLOPS_AWS_016",
        "MLOPS_AWS_017",
        "MLOPS_AWS_025",
        "MLOPS_AWS_027",
        "MLOPS_GCP_002",
    ],
)
def test_one_attribute_rules_are_value_rules(rid):
    r = all_rules()[rid]
    assert r.check.__qualname__.startswith("value_check."), rid
    assert len(r.applies_to) == 1
