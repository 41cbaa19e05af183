"""Objects a killed run created but never recorded: how `up` names and adopts them (scripts/pipeline.py
`_adopt`, scripts/glue/aws.py `import_ids`). The emulator adopts; a cloud only gets the commands."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlops_blueprint.blueprints import registry
from mlops_blueprint.blueprints.loader import load
from mlops_blueprint.scripts import pipeline
from mlops_blueprint.scripts.glue import Target
from mlops_blueprint.scripts.glue import aws as glue
from mlops_blueprint.scripts.terraform import TerraformFailed
from tests.conftest import ROOT

DOC = {
    "resource": {
        "aws_s3_bucket": {"raw": {"bucket": "starter-dev-raw"}},
        "aws_iam_policy": {"p": {"name": "starter-dev-read", "path": "/mlops/"}},
        "aws_glue_catalog_database": {"db": {"name": "starter_dev_sales"}},
        "aws_iam_role": {"r": {"name": "${aws_iam_role.other.name}-x"}},
        "aws_kms_key": {"k": {"description": "no name"}},
        "aws_budgets_budget": {"b": {"name": "starter-dev"}},
        "aws_eks_cluster": {"c": {"name": "starter-dev-training"}},
        "aws_eks_addon": {
            "a": {"addon_name": "amazon-cloudwatch-observability", "cluster_name": "${aws_eks_cluster.c.name}"}
        },
        "aws_secretsmanager_secret": {"s": {"name": "starter-dev/mlflow"}},
    }
}


@pytest.fixture
def env():
    return load(ROOT / "blueprints/reference/starter.yaml").envs["dev"]


def test_import_ids_follow_terraform_import_formats(env, monkeypatch):
    clients = {
        "sts": SimpleNamespace(get_caller_identity=lambda: {"Account": "123456789012"}),
        "secretsmanager": SimpleNamespace(
            describe_secret=lambda SecretId: {
                "ARN": f"arn:aws:secretsmanager:eu-central-1:123456789012:secret:{SecretId}-AbCdEf"
            }
        ),
    }
    monkeypatch.setattr(glue, "client", lambda target, service, region: clients[service])
    ids = glue.import_ids(
        DOC,
        [
            "aws_s3_bucket.raw",
            "aws_iam_policy.p",
            "aws_glue_catalog_database.db",
            "aws_iam_role.r",
            "aws_kms_key.k",
            "aws_s3_bucket.absent",
            "aws_budgets_budget.b",
            "aws_eks_addon.a",
            "aws_secretsmanager_secret.s",
        ],
        env,
        Target(local=True, mirror=None),
    )
    assert ids == {
        "aws_s3_bucket.raw": "starter-dev-raw",
        "aws_iam_policy.p": "arn:aws:iam::123456789012:policy/mlops/starter-dev-read",
        "aws_glue_catalog_database.db": "123456789012:starter_dev_sales",
        "aws_iam_role.r": None,  # its name is known only after apply
        "aws_kms_key.k": None,  # no name: a leaked key does not stop an apply
        "aws_s3_bucket.absent": None,
        "aws_budgets_budget.b": "123456789012:starter-dev",
        "aws_eks_addon.a": "starter-dev-training:amazon-cloudwatch-observability",  # the reference resolved
        "aws_secretsmanager_secret.s": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:starter-dev/mlflow-AbCdEf",
    }


class FakeTerraform:
    def __init__(self, directory: Path):
        self.dir, self.imported = directory, []

    def import_(self, address: str, id: str) -> None:
        self.imported.append((address, id))


def _adopt(env, tmp_path, local: bool, orphans: list[str]):
    doc = tmp_path / "cdk.tf.json"
    doc.write_text(json.dumps(DOC))
    tf = FakeTerraform(tmp_path)
    failure = TerraformFailed("starter-dev", "apply", "Error: ... already exists")
    failure.orphans = orphans
    events: list = []
    r = SimpleNamespace(stack="starter-dev", json_path=doc)
    pipeline._adopt(registry.get("aws"), env, r, tf, failure, Target(local=local, mirror=None), events.append)
    return tf, events


def test_the_emulator_adopts_what_a_killed_run_left(env, tmp_path):
    tf, events = _adopt(env, tmp_path, True, ["aws_s3_bucket.raw"])
    assert tf.imported == [("aws_s3_bucket.raw", "starter-dev-raw")]
    assert any("adopted aws_s3_bucket.raw (starter-dev-raw)" in getattr(e, "message", "") for e in events)


def test_a_cloud_gets_the_import_commands_not_an_adoption(env, tmp_path):
    with pytest.raises(pipeline.Orphaned) as raised:
        _adopt(env, tmp_path, False, ["aws_s3_bucket.raw"])
    assert raised.value.exit_code == 4 and "aws_s3_bucket.raw" in str(raised.value)
    assert f"terraform -chdir={tmp_path} import 'aws_s3_bucket.raw' 'starter-dev-raw'" in raised.value.hint


def test_an_orphan_without_an_import_id_is_not_adopted(env, tmp_path):
    with pytest.raises(pipeline.Orphaned, match="no import id known for aws_iam_role.r"):
        _adopt(env, tmp_path, True, ["aws_s3_bucket.raw", "aws_iam_role.r"])
