"""`outputs` on a real deployment: up the starter's dev environment in the emulator, read the outputs
contract back as JSON, check every name and value, then destroy it."""

import json

import pytest

from tests.integration.run import STARTER
from tests.integration.run import cli_split as cli

pytestmark = pytest.mark.integration
PERSONAS = ["app_consumers", "data_engineers", "data_scientists", "ml_engineers"]


def test_outputs_of_the_deployed_starter_dev(emulator, emulator_home, aws, tmp_path):
    out = tmp_path / "cdktf.out"
    rc, so, se = cli("up", STARTER, "--env", "dev", "--local", "--skip-verify", "--output", out, home=emulator_home)
    assert rc == 0, so + se
    try:
        rc, so, se = cli(
            "outputs", STARTER, "--env", "dev", "--local", "--format", "json", "--output", out, home=emulator_home
        )
        assert rc == 0, se
        got = json.loads(so)
        assert sorted(got) == [
            "alert_topic",
            "catalog_databases",
            "endpoint_urls",
            "endpoints",
            "lake_bucket_arns",
            "lake_buckets",
            "lake_kms_key_arn",
            "persona_roles",
            "registry_model_groups",
            "registry_repositories",
            "training_cluster",
            "training_pools",
        ]
        assert got["lake_buckets"] == {
            "raw": "starter-dev-raw",
            "curated": "starter-dev-curated",
            "features": "starter-dev-features",
        }
        assert got["lake_bucket_arns"]["features"] == "arn:aws:s3:::starter-dev-features"
        assert got["catalog_databases"] == {"sales": "starter_dev_sales", "features": "starter_dev_features"}
        assert got["training_pools"] == {"gpu-a": "gpu-a"}  # the Auto Mode NodePool (in the cluster stack)
        assert got["training_cluster"] == "starter-dev-training"
        assert got["registry_model_groups"] == {"fraud": "starter-dev-fraud"}
        assert got["registry_repositories"]["fraud"].endswith("/starter-dev/fraud")
        assert got["endpoints"] == {"fraud-api": "starter-dev-fraud-api"}
        assert got["endpoint_urls"] == {
            "fraud-api": "https://runtime.sagemaker.eu-central-1.amazonaws.com/endpoints/starter-dev-fraud-api/invocations"
        }
        assert sorted(got["persona_roles"]) == PERSONAS
        assert got["persona_roles"]["data_scientists"].endswith(":role/starter-dev-data-scientists")
        assert got["alert_topic"].endswith(":starter-dev-alerts")
        assert got["lake_kms_key_arn"].startswith("arn:aws:kms:eu-central-1:")
        # The values are the deployed things, read back through the cloud's own API.
        assert "starter-dev-features" in [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]
        topics = [t["TopicArn"] for t in aws("sns").list_topics()["Topics"]]
        assert got["alert_topic"] in topics

        rc, so, se = cli("outputs", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
        assert rc == 0, se
        assert "starter-dev outputs" in so and "starter-dev-features" in so
    finally:
        rc, so, se = cli("down", STARTER, "--env", "dev", "--local", "--output", out, home=emulator_home)
        assert rc == 0, so + se
    rc, so, se = cli(
        "outputs", STARTER, "--env", "dev", "--local", "--format", "json", "--output", out, home=emulator_home
    )
    assert rc != 0 and "Traceback" not in se
