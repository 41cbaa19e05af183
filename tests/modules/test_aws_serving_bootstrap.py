"""AWS endpoints start on a bootstrap model that needs nothing from the platform's (empty) registry
(review s5, finding 5b): AWS's prebuilt SageMaker scikit-learn inference image of the region, and a
model.tar.gz the stack uploads itself, whose code answers "no model version rolled out yet".

The image's registry account per region is vendored from aws/sagemaker-python-sdk
src/sagemaker/image_uri_config/sklearn.json ("inference" 1.2-1; see stacks/aws/catalog.py); the URI form
`<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3` is the one the SageMaker
docs list ("Docker Registry Paths and Example Code",
https://docs.aws.amazon.com/sagemaker/latest/dg-ecr-paths/ecr-eu-central-1.html). The container runs
SAGEMAKER_PROGRAM from SAGEMAKER_SUBMIT_DIRECTORY, which for a network-isolated model is the code inside
model.tar.gz, /opt/ml/model/code (sagemaker-python-sdk, sagemaker/model.py `_script_mode_env_vars`).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import tarfile

import pytest

from mlops_blueprint.blueprints import BlueprintError, load, loads
from mlops_blueprint.modules.serving.aws import BOOTSTRAP_ANSWER, bootstrap_tarball
from mlops_blueprint.stacks import synth
from mlops_blueprint.stacks.aws.catalog import (
    BOOTSTRAP_TAG,
    CATALOG,
    SKLEARN_INFERENCE_ACCOUNTS,
    bootstrap_image,
)
from mlops_blueprint.stacks.settings import DeploySettings
from tests.conftest import MINIMAL, ROOT
from tests.modules.conftest import resources

ML_KEY = "${aws_kms_key.baseline_key-ml_C0886365.arn}"
ARTIFACTS = "aws_s3_bucket.registry_artifacts_bucket_DEAE7B2C"


def synth_text(tmp_path, text: str, env: str = "dev") -> dict:
    lb = loads(text, name="bp.yaml")
    [res] = synth(lb, [lb.envs[env]], tmp_path, DeploySettings())
    return json.loads(res.json_path.read_text())


@pytest.fixture(scope="module")
def us_east(tmp_path_factory) -> dict:
    """The starter's dev stack moved to us-east-1 (another registry account), without its GPU pool."""
    text = (ROOT / "blueprints/reference/starter.yaml").read_text()
    moved = text.replace("target: {cloud: aws, region: eu-central-1}", "target: {cloud: aws, region: us-east-1}")
    assert moved != text
    return synth_text(tmp_path_factory.mktemp("us-east"), moved)


def members(blob: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def code(blob: bytes) -> str:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        member = tar.getmember("code/inference.py")
        assert member.isfile(), member.type
        f = tar.extractfile(member)
        return f.read().decode() if f else ""


# -- the image ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "region, uri",
    [
        ("eu-central-1", "492215442770.dkr.ecr.eu-central-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
        ("us-east-1", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
        ("eu-west-1", "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
        ("ap-southeast-2", "783357654285.dkr.ecr.ap-southeast-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
        ("cn-north-1", None),  # another partition: not vendored
        ("us-gov-west-1", None),
        ("mars-north-1", None),
    ],
)
def test_the_bootstrap_image_comes_from_the_regions_aws_registry_account(region, uri):
    assert bootstrap_image(region) == uri


def test_every_region_the_catalog_supports_has_the_bootstrap_image():
    assert [r for r in CATALOG.regions if r not in SKLEARN_INFERENCE_ACCOUNTS] == []
    assert all(a.isdigit() and len(a) == 12 for a in SKLEARN_INFERENCE_ACCOUNTS.values())


def test_the_bootstrap_tag_is_the_endpoints_default_image_tag():
    from mlops_blueprint.blueprints.model import Endpoint

    assert Endpoint.model_fields["image_tag"].default == BOOTSTRAP_TAG == "bootstrap"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_model_runs_the_bootstrap_image_with_the_stacks_artifact_and_code(starter, env):
    doc = starter[env]
    [model] = resources(doc, "aws_sagemaker_model").values()
    c = model["primary_container"]
    assert c["image"] == "492215442770.dkr.ecr.eu-central-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert c["model_data_url"] == f"s3://${{{ARTIFACTS}.bucket}}/fraud/bootstrap/model.tar.gz"
    assert c["environment"] == {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
    assert model["enable_network_isolation"] is True  # the code is in the tarball: nothing to download
    [(obj_key, _)] = resources(doc, "aws_s3_object").items()
    assert model["depends_on"] == [f"aws_s3_object.{obj_key}"]
    # Nothing points at the platform's own (empty on the first up) repository any more.
    assert "aws_ecr_repository" not in json.dumps(model)


def test_another_region_pulls_from_its_own_account(us_east):
    [model] = resources(us_east, "aws_sagemaker_model").values()
    assert (
        model["primary_container"]["image"]
        == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    statements = [
        s for p in resources(us_east, "aws_iam_role_policy").values() for s in json.loads(p["policy"])["Statement"]
    ]
    [pull] = [s for s in statements if s.get("Sid") == "PullTheBootstrapImage"]
    assert pull["Resource"] == ["arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn"]


# -- the artifact ---------------------------------------------------------------------------------------


def test_the_stack_uploads_the_bootstrap_artifact_encrypted_with_the_ml_key(starter):
    [obj] = resources(starter["dev"], "aws_s3_object").values()
    assert obj["bucket"] == f"${{{ARTIFACTS}.id}}"
    assert obj["key"] == "fraud/bootstrap/model.tar.gz"
    assert obj["server_side_encryption"] == "aws:kms" and obj["kms_key_id"] == ML_KEY
    assert obj["content_type"] == "application/gzip"
    assert base64.b64decode(obj["content_base64"]) == bootstrap_tarball()


def test_the_artifact_bytes_never_change_between_synths(starter, us_east):
    """Same bytes in every stack and every call, so a second `up` plans no change of the object."""
    blobs = {
        base64.b64decode(o["content_base64"])
        for doc in (starter["dev"], starter["prod"], us_east)
        for o in resources(doc, "aws_s3_object").values()
    }
    assert blobs == {bootstrap_tarball()}
    assert bootstrap_tarball() == bootstrap_tarball()
    # The gzip header carries no time and no file name (RFC 1952: MTIME 0, FLG 0).
    blob = bootstrap_tarball()
    assert blob[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def test_the_artifact_holds_only_the_code_with_fixed_times_and_owners():
    blob = bootstrap_tarball()
    found = members(blob)
    assert sorted(found) == ["code", "code/inference.py"]
    assert found["code"].isdir() and found["code/inference.py"].isfile()
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in found.values()} == {(0, 0, 0, "", "")}
    assert (found["code"].mode, found["code/inference.py"].mode) == (0o755, 0o644)
    assert len(gzip.decompress(blob)) % 512 == 0  # whole tar blocks


def test_the_bootstrap_code_answers_every_request_with_the_fixed_json():
    namespace: dict = {}
    exec(compile(code(bootstrap_tarball()), "inference.py", "exec"), namespace)  # the code as the container runs it
    model = namespace["model_fn"]("/opt/ml/model")
    for body, content_type in ((b'{"x": [1, 2]}', "application/json"), (b"1,2,3", "text/csv"), (b"", "x/y")):
        data = namespace["input_fn"](body, content_type)
        body_out, mime = namespace["output_fn"](namespace["predict_fn"](data, model), "*/*")
        assert mime == "application/json"
        assert json.loads(body_out) == BOOTSTRAP_ANSWER
    assert BOOTSTRAP_ANSWER["status"] == "bootstrap"
    assert "No model version has been rolled out" in BOOTSTRAP_ANSWER["message"]


# -- the role -------------------------------------------------------------------------------------------


def test_the_execution_role_may_pull_the_bootstrap_image_and_nothing_else_of_that_account(starter):
    doc = starter["dev"]
    [role_key] = [k for k in resources(doc, "aws_iam_role") if k.startswith("serving_execution-role")]
    refs = (f"${{aws_iam_role.{role_key}.id}}", f"${{aws_iam_role.{role_key}.name}}")
    statements = [
        s
        for p in resources(doc, "aws_iam_role_policy").values()
        if p["role"] in refs
        for s in json.loads(p["policy"])["Statement"]
    ]
    aws_owned = [s for s in statements if any("492215442770" in r for r in s["Resource"])]
    assert aws_owned == [
        {
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": ["arn:aws:ecr:eu-central-1:492215442770:repository/sagemaker-scikit-learn"],
            "Sid": "PullTheBootstrapImage",
        }
    ]
    # The registry token (account-wide by its nature) comes with the registry's pull grant.
    assert {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": ["*"]} in statements


# -- an endpoint with an image tag of its own -----------------------------------------------------------


def test_an_endpoint_with_its_own_image_tag_starts_on_the_registry_image_and_uploads_nothing(tmp_path):
    text = MINIMAL.replace("api: {model: m1}", "api: {model: m1, image_tag: v7}")
    doc = synth_text(tmp_path, text)
    [model] = resources(doc, "aws_sagemaker_model").values()
    c = model["primary_container"]
    assert c["image"].endswith("}:v7") and "aws_ecr_repository" in c["image"]
    assert c["model_data_url"].endswith("/m1/v7/model.tar.gz") and "environment" not in c
    assert resources(doc, "aws_s3_object") == {} and "depends_on" not in model
    statements = [
        s for p in resources(doc, "aws_iam_role_policy").values() for s in json.loads(p["policy"])["Statement"]
    ]
    assert not [s for s in statements if s.get("Sid") == "PullTheBootstrapImage"]


# -- validation -----------------------------------------------------------------------------------------


def problems(path) -> list[str]:
    with pytest.raises(BlueprintError) as exc:
        load(path)
    return [str(p) for p in exc.value.problems]


def test_a_supported_region_without_the_image_is_refused_at_target_region(write, monkeypatch):
    monkeypatch.delitem(SKLEARN_INFERENCE_ACCOUNTS, "eu-central-1")
    path = write(MINIMAL)
    [problem] = problems(path)
    assert problem.startswith(f"{path}:4:30: target.region: region 'eu-central-1' has no SageMaker scikit-learn")
    assert "endpoint(s) api serve until their first rollout" in problem
    allowed = problem.split("regions with it: ", 1)[1]
    assert allowed.split(", ") == [r for r in CATALOG.regions if r != "eu-central-1"]


def test_the_region_check_needs_an_endpoint_on_the_bootstrap(write, monkeypatch):
    monkeypatch.delitem(SKLEARN_INFERENCE_ACCOUNTS, "eu-central-1")
    without_serving = MINIMAL.replace("  serving:\n    endpoints:\n      api: {model: m1}\n", "")
    assert without_serving != MINIMAL
    assert load(write(without_serving, "a.yaml")).envs["dev"].blueprint.components.serving is None
    own_tag = MINIMAL.replace("api: {model: m1}", "api: {model: m1, image_tag: v7}")
    assert load(write(own_tag, "b.yaml")).envs["dev"].blueprint.target.region == "eu-central-1"


def test_an_unsupported_region_gets_one_error_not_two(write):
    found = problems(write(MINIMAL.replace("region: eu-central-1", "region: il-central-1")))
    assert len(found) == 1 and "region 'il-central-1' is not supported for aws" in found[0]
