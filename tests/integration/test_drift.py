"""`drift` on a real deployment: the starter's dev environment is deployed into the emulator, nothing has
drifted (exit 0); then a lake bucket's versioning is suspended and a GPU node group's scaling raised
through boto3 (where pools live in the cluster stack, which the emulator cannot hold, gpu-a's GPU alarm
is changed instead), and drift names both by blueprint component and exits 8."""

import json

import pytest

from mlops_blueprint.scripts import pipeline
from mlops_blueprint.scripts.drift import EXIT_DRIFT
from tests.integration.run import STARTER
from tests.integration.run import cli_split as cli

pytestmark = pytest.mark.integration


def test_drift_names_what_changed_outside_terraform_by_component(emulator, emulator_home, aws, tmp_path):
    out = tmp_path / "cdktf.out"
    pipeline.up(pipeline.validate(STARTER), "dev", local=True, outdir=out, verify=False)

    rc, so, se = cli("drift", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
    assert (rc, so) == (0, "starter-dev: no drift\n"), se

    aws("s3").put_bucket_versioning(Bucket="starter-dev-curated", VersioningConfiguration={"Status": "Suspended"})
    stack = json.loads((out / "stacks/starter-dev/cdk.tf.json").read_text())
    if "aws_eks_node_group" in stack["resource"]:  # pools as managed node groups: raise gpu-a's maximum
        aws("eks").update_nodegroup_config(
            clusterName="starter-dev-training",
            nodegroupName="starter-dev-gpu-a",
            scalingConfig={"minSize": 0, "maxSize": 3, "desiredSize": 0},
        )
        pool_type, pool_attrs = "aws_eks_node_group", {"scaling_config.0.max_size": {"state": 1, "actual": 3}}
    else:  # pools live in the cluster stack (not in the emulator): change gpu-a's GPU alarm instead
        cw = aws("cloudwatch")
        alarms = stack["resource"]["aws_cloudwatch_metric_alarm"]
        (name,) = [a["alarm_name"] for key, a in alarms.items() if key.startswith("monitoring_gpu-a-gpu_")]
        (alarm,) = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        keep = ("AlarmName", "MetricName", "Namespace", "Statistic", "Period", "EvaluationPeriods",
                "ComparisonOperator", "AlarmActions", "OKActions", "Dimensions", "TreatMissingData", "AlarmDescription")  # fmt: skip
        cw.put_metric_alarm(**{k: alarm[k] for k in keep if k in alarm}, Threshold=alarm["Threshold"] + 1)
        pool_type, pool_attrs = (
            "aws_cloudwatch_metric_alarm",
            {"threshold": {"state": alarm["Threshold"], "actual": alarm["Threshold"] + 1}},
        )

    rc, so, se = cli(
        "drift", STARTER, "--env", "dev", "--local", "--output", out, "--format", "json", home=emulator_home
    )
    assert rc == EXIT_DRIFT == 8, se
    doc = json.loads(so)
    assert doc["dev"]["drift"] is True
    components = doc["dev"]["components"]
    pool_component = "training.gpu-a" if pool_type == "aws_eks_node_group" else "monitoring.gpu-a"
    assert sorted(components) == sorted(["data_lake.curated", pool_component])
    (versioning,) = components["data_lake.curated"]
    assert versioning["type"] == "aws_s3_bucket_versioning" and versioning["action"] == "changed"
    assert versioning["attributes"] == {
        "versioning_configuration.0.status": {"state": "Enabled", "actual": "Suspended"}
    }
    (pool,) = components[pool_component]
    assert pool["type"] == pool_type
    assert pool["attributes"] == pool_attrs  # dev's override: max_nodes 1
