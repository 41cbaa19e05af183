"""The model registry on AWS: SageMaker model package groups, ECR repositories, an artifacts bucket."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktn_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktn_provider_aws.ecr_repository import EcrRepository, EcrRepositoryEncryptionConfiguration
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.sagemaker_model_package_group import SagemakerModelPackageGroup
from constructs import Construct

from mlops_blueprint.blueprints.model import Registry
from mlops_blueprint.modules.aws_common import BucketProps, SecureBucket, attach, protect, statement
from mlops_blueprint.modules.baseline.aws import AwsBaseline
from mlops_blueprint.stacks.aws.names import AwsNames


@dataclass(frozen=True)
class RegistryProps:
    """spec: models (omitted: immutable tags, scan on push, keep 30 images). protect: prevent_destroy."""

    naming: AwsNames
    spec: Registry
    baseline: AwsBaseline
    protect: bool


class AwsRegistry(Construct):
    def __init__(self, scope: Construct, id: str, *, props: RegistryProps):
        super().__init__(scope, id)
        n, b, spec = props.naming, props.baseline, props.spec
        self._baseline = b
        self.artifacts = SecureBucket(
            self,
            "artifacts",
            props=BucketProps(name=n.artifacts_bucket, kms_key_arn=b.keys["ml"].arn, protect=props.protect),
        )
        self.groups: dict[str, SagemakerModelPackageGroup] = {}
        self.repositories: dict[str, EcrRepository] = {}
        for model in spec.models:
            self.groups[model] = SagemakerModelPackageGroup(
                self,
                f"group-{model}",
                model_package_group_name=n.model_group(model),
                model_package_group_description=f"Versions of {model}",
                lifecycle=protect(props.protect),
            )
            repo = EcrRepository(
                self,
                f"repo-{model}",
                name=n.ecr_repository(model),
                image_tag_mutability="IMMUTABLE" if spec.immutable_tags else "MUTABLE",
                image_scanning_configuration={"scan_on_push": spec.image_scanning},
                encryption_configuration=[
                    EcrRepositoryEncryptionConfiguration(encryption_type="KMS", kms_key=b.keys["ml"].arn)
                ],
                force_delete=not props.protect,
                lifecycle=protect(props.protect),
            )
            EcrLifecyclePolicy(
                self,
                f"repo-{model}-lifecycle",
                repository=repo.name,
                policy=json.dumps(
                    {
                        "rules": [
                            {
                                "rulePriority": 1,
                                "description": f"keep the newest {spec.keep_images} images",
                                "selection": {
                                    "tagStatus": "any",
                                    "countType": "imageCountMoreThan",
                                    "countNumber": spec.keep_images,
                                },
                                "action": {"type": "expire"},
                            }
                        ]
                    }
                ),
            )
            self.repositories[model] = repo

    def image_uri(self, model: str, tag: str) -> str:
        return f"{self.repositories[model].repository_url}:{tag}"

    def grant_pull(self, role: IamRole, *, id: str) -> None:
        """Read images, model packages and artifacts: what serving and scientists need."""
        repos = [r.arn for r in self.repositories.values()]
        groups = [g.arn for g in self.groups.values()]
        packages = [
            f"arn:aws:sagemaker:{self._baseline.region}:{self._baseline.account_id}:model-package/{g.model_package_group_name}/*"
            for g in self.groups.values()
        ]
        attach(
            self,
            id,
            role,
            statement(
                [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:DescribeImages",
                ],
                repos,
            ),
            statement(["ecr:GetAuthorizationToken"], ["*"]),
            statement(
                [
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:ListModelPackages",
                    "sagemaker:DescribeModelPackage",
                ],
                groups + packages,
            ),
            *self.artifacts.read_statements(),
            self._baseline.key_statements("ml"),
        )

    def grant_artifacts(self, role: IamRole, *, id: str) -> None:
        """Read and write the artifacts bucket (checkpoints, trained models): what training jobs need."""
        attach(
            self,
            id,
            role,
            *self.artifacts.read_statements(),
            *self.artifacts.write_statements(),
            self._baseline.key_statements("ml", write=True),
        )

    def grant_push(self, role: IamRole, *, id: str) -> None:
        """Publish images, register model versions and upload artifacts: what ML engineers need."""
        self.grant_pull(role, id=f"{id}-pull")
        repos = [r.arn for r in self.repositories.values()]
        groups = [g.arn for g in self.groups.values()]
        attach(
            self,
            id,
            role,
            statement(
                ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"], repos
            ),
            statement(["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"], groups),
            *self.artifacts.write_statements(),
            self._baseline.key_statements("ml", write=True),
        )
