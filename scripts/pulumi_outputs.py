"""Pulumi interop: a deployed platform environment's outputs, typed, inside a Pulumi program.

Application teams often deploy with Pulumi onto a platform that the platform team runs in Terraform.
This helper reads the environment's Terraform state through pulumi-terraform's state references
(`pulumi_terraform.state.get_s3_reference_output`, `get_azure_rm_reference_output`,
`get_local_reference_output`; pulumi-terraform 6) and exposes the outputs contract (README,
"Outputs") as typed accessors:

    from mlops_blueprint.scripts.pulumi_outputs import PlatformOutputs

    platform = PlatformOutputs.from_stack("cdktf.out/stacks/starter-prod/cdk.tf.json")
    features = platform.lake_bucket_arn("features")   # pulumi.Output[str]

Where the state lives comes from the synthesized stack's own `terraform.backend` block (`mlops-blueprint
synth BP --env E` writes it), so the helper never rebuilds a bucket name or key by hand.
pulumi-terraform reads S3, azurerm, local and HCP Terraform state; a GCS or Kubernetes backend is
refused with what to do instead. Install with the `pulumi` extra: `pip install mlops-blueprint[pulumi]`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi_terraform import state

# backend type in cdk.tf.json -> the reference that reads it, and the backend keys it takes.
_S3_KEYS = {
    "bucket": "bucket",
    "key": "key",
    "region": "region",
    "profile": "profile",
    "role_arn": "role_arn",
    "access_key": "access_key",
    "secret_key": "secret_key",
    "skip_credentials_validation": "skip_credentials_validation",
    "skip_metadata_api_check": "skip_metadata_api_check",
}
_AZURE_KEYS = {
    "storage_account_name": "storage_account_name",
    "container_name": "container_name",
    "key": "key",
    "resource_group_name": "resource_group_name",
    "subscription_id": "subscription_id",
    "tenant_id": "tenant_id",
    "use_azuread_auth": "use_azuread_auth",
}


def _s3(cfg: Mapping[str, Any]) -> pulumi.Output[Any]:
    args = {arg: cfg[k] for k, arg in _S3_KEYS.items() if k in cfg}
    endpoints = cfg.get("endpoints") or {}
    if isinstance(endpoints, Mapping) and endpoints.get("s3"):  # the embedded emulator
        args["endpoint"] = endpoints["s3"]
        args["force_path_style"] = True
    return state.get_s3_reference_output(**args)


def _azurerm(cfg: Mapping[str, Any]) -> pulumi.Output[Any]:
    return state.get_azure_rm_reference_output(**{arg: cfg[k] for k, arg in _AZURE_KEYS.items() if k in cfg})


def _local(cfg: Mapping[str, Any]) -> pulumi.Output[Any]:
    return state.get_local_reference_output(path=cfg.get("path", "terraform.tfstate"))


READERS: dict[str, Callable[[Mapping[str, Any]], pulumi.Output[Any]]] = {
    "s3": _s3,
    "azurerm": _azurerm,
    "local": _local,
}


class UnsupportedBackend(ValueError):
    """pulumi-terraform cannot read this backend's state."""


class PlatformOutputs:
    """The outputs contract of one deployed environment, as Pulumi outputs.

    `outputs`: a Pulumi output of the state's outputs mapping (name -> value)."""

    def __init__(self, outputs: pulumi.Output[Mapping[str, Any]]):
        self.outputs = outputs

    @classmethod
    def from_backend(cls, backend: str, config: Mapping[str, Any]) -> PlatformOutputs:
        reader = READERS.get(backend)
        if reader is None:
            raise UnsupportedBackend(
                f"pulumi-terraform cannot read a {backend!r} state backend (it reads {', '.join(READERS)} and HCP "
                "Terraform); export the outputs instead: `mlops-blueprint outputs BP --env E --format json` into "
                "Pulumi config, or a stack reference"
            )
        return cls(reader(config).apply(lambda r: dict(r.outputs or {})))

    @classmethod
    def from_stack(cls, stack_json: str | Path) -> PlatformOutputs:
        """From a synthesized stack (`cdktf.out/stacks/<name>-<env>/cdk.tf.json`): its backend block says where."""
        doc = json.loads(Path(stack_json).read_text())
        backends = doc.get("terraform", {}).get("backend", {})
        if len(backends) != 1:
            raise UnsupportedBackend(f"{stack_json} has {len(backends)} backend blocks; expected one")
        [(kind, cfg)] = backends.items()
        return cls.from_backend(kind, cfg)

    # --- the contract --------------------------------------------------------------------------

    def value(self, name: str) -> pulumi.Output[Any]:
        def pick(o: Mapping[str, Any]) -> Any:
            if name not in o:
                raise KeyError(f"the platform's state has no output {name!r}; it has: {', '.join(sorted(o))}")
            return o[name]

        return self.outputs.apply(pick)

    def entry(self, name: str, key: str) -> pulumi.Output[str]:
        def pick(m: Mapping[str, str]) -> str:
            if key not in m:
                raise KeyError(f"output {name!r} has no {key!r}; it has: {', '.join(sorted(m))}")
            return m[key]

        return self.value(name).apply(pick)

    def lake_bucket(self, zone: str) -> pulumi.Output[str]:
        return self.entry("lake_buckets", zone)

    def lake_bucket_arn(self, zone: str) -> pulumi.Output[str]:
        """AWS only: the zone bucket's ARN."""
        return self.entry("lake_bucket_arns", zone)

    def lake_kms_key_arn(self) -> pulumi.Output[str]:
        """AWS only: the key the lake's objects are encrypted with (readers need kms:Decrypt on it)."""
        return self.value("lake_kms_key_arn")

    def persona_role(self, persona: str) -> pulumi.Output[str]:
        return self.entry("persona_roles", persona)

    def catalog_database(self, database: str) -> pulumi.Output[str]:
        return self.entry("catalog_databases", database)

    def training_pool(self, pool: str) -> pulumi.Output[str]:
        return self.entry("training_pools", pool)

    def registry_repository(self, model: str) -> pulumi.Output[str]:
        return self.entry("registry_repositories", model)

    def model_group(self, model: str) -> pulumi.Output[str]:
        return self.entry("registry_model_groups", model)

    def endpoint(self, name: str) -> pulumi.Output[str]:
        return self.entry("endpoints", name)

    def endpoint_url(self, name: str) -> pulumi.Output[str]:
        return self.entry("endpoint_urls", name)

    def alert_topic(self) -> pulumi.Output[str]:
        return self.value("alert_topic")


def read_only_policy(bucket_arn: str, key_arn: str) -> str:
    """An IAM policy document that reads one lake zone: list the bucket, get its objects, decrypt them."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ListZone", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [bucket_arn]},
                {"Sid": "ReadZone", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"{bucket_arn}/*"]},
                {"Sid": "DecryptZone", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key_arn]},
            ],
        },
        sort_keys=True,
    )
