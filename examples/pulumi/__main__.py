"""An application team's Pulumi program on top of the platform: its role may read the lake's features zone.

    .venv/bin/mlops-blueprint synth blueprints/reference/starter.yaml --env prod
    cd examples/pulumi && pulumi up   # platformStack defaults to cdktf.out/stacks/starter-prod/cdk.tf.json

The platform's bucket, its ARN and the lake's key come from the platform's Terraform state (the outputs
contract in the README), never from hand-built names.
"""

import json

import pulumi
import pulumi_aws as aws

from mlops_blueprint.scripts.pulumi_outputs import PlatformOutputs, read_only_policy

config = pulumi.Config()
zone = config.get("zone") or "features"
platform = PlatformOutputs.from_stack(config.get("platformStack") or "../../cdktf.out/stacks/starter-prod/cdk.tf.json")

role = aws.iam.Role(
    "app",
    description="The scoring application's role",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    ),
)
policy = aws.iam.RolePolicy(
    "app-reads-features",
    role=role.id,
    policy=pulumi.Output.all(platform.lake_bucket_arn(zone), platform.lake_kms_key_arn()).apply(
        lambda args: read_only_policy(*args)
    ),
)

pulumi.export("role_arn", role.arn)
pulumi.export("features_bucket", platform.lake_bucket(zone))
pulumi.export("policy", policy.policy)
