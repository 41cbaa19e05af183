"""Objects without a name of their own that a killed `up` created but never recorded (AWS).

Terraform records an object in its state only after the create call returns, and saves the state
from time to time during an apply. A run killed in between leaves objects in the account that the
state does not know. Objects with a name of their own are found by the next apply ("already
exists") and adopted by name (`import_ids`). Objects without one are not: the next apply just makes
another. A VPC and what lives in it (subnets, route tables, security groups, endpoints, flow logs)
and the KMS keys would exist twice, and `verify` finds two VPCs with one name.

Every such object carries the environment's tags: the provider's `default_tags` hold
`mlops:blueprint` and `mlops:environment`. So an object with both tags whose id the environment's
state does not hold is untracked. A state snapshot is consistent: an object is recorded only with
everything it depends on, so nothing recorded refers to an untracked object, and removing untracked
objects never breaks the platform.

`find_with` lists them, in the order they can be deleted (what lives in a VPC before the VPC).
On the emulator, which nobody else uses, `up` deletes them before it applies, and `down` deletes them
after its destroy. KMS keys are scheduled for deletion, as `down` leaves every key. On a cloud they are
only listed: an object somebody made by hand with the platform's tags is not ours to delete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mlops_blueprint.blueprints.loader import ResolvedEnv
from mlops_blueprint.scripts.glue import Reporter

BLUEPRINT_TAG = "mlops:blueprint"
ENVIRONMENT_TAG = "mlops:environment"
KEY_DELETION_DAYS = 7  # the shortest window KMS allows


@dataclass(frozen=True)
class Untracked:
    kind: str  # what it is, in AWS's words: "VPC", "subnet", "KMS key"
    id: str
    delete: Callable[[], None]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


def recorded_ids(state: dict | None) -> set[str]:
    """Every string value anywhere in a Terraform state: `terraform state pull`'s document, a
    `show -json` state or a plan's prior_state. An id held under any attribute (`id`, `arn`, `key_id`,
    `vpc_id`, a tag of another resource...) counts as recorded, so the judgment errs towards keeping.
    An empty set when there is no state yet."""
    ids: set[str] = set()
    stack: list[object] = [state or {}]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and item:
            ids.add(item)
    return ids


# What lives in a VPC, in deletion order: (kind, the EC2 describe call, the list in its answer, the
# object's id, the filter naming its VPC, the describe call's filter argument).
IN_VPC = (
    ("flow log", "describe_flow_logs", "FlowLogs", "FlowLogId", "resource-id", "Filter"),
    ("VPC endpoint", "describe_vpc_endpoints", "VpcEndpoints", "VpcEndpointId", "vpc-id", "Filters"),
    ("route table", "describe_route_tables", "RouteTables", "RouteTableId", "vpc-id", "Filters"),
    ("subnet", "describe_subnets", "Subnets", "SubnetId", "vpc-id", "Filters"),
    ("security group", "describe_security_groups", "SecurityGroups", "GroupId", "vpc-id", "Filters"),
)


def find_with(env: ResolvedEnv, client: Callable[[str], Any], recorded: set[str]) -> list[Untracked]:
    """The objects with this environment's tags whose ids are not in `recorded`, in deletion order:
    what lives in a VPC (tagged, or in an untracked VPC whatever its tags), the VPCs, the KMS keys."""
    tags = {BLUEPRINT_TAG: env.blueprint.metadata.name, ENVIRONMENT_TAG: env.name}
    ec2 = client("ec2")
    by_tags = [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs(Filters=by_tags)["Vpcs"] if v["VpcId"] not in recorded]
    found: list[Untracked] = []
    for kind, call, field, key, vpc_filter, argument in IN_VPC:
        describe = getattr(ec2, call)
        items = describe(**{argument: by_tags})[field]
        if vpcs:
            items += describe(**{argument: [{"Name": vpc_filter, "Values": vpcs}]})[field]
        seen: set[str] = set()
        for item in items:
            if item[key] in recorded or item[key] in seen or _goes_with_its_vpc(item):
                continue
            seen.add(item[key])
            found.append(Untracked(kind, item[key], _deleter(ec2, kind, item)))
    found.extend(Untracked("VPC", vpc, _call(ec2.delete_vpc, VpcId=vpc)) for vpc in vpcs)
    found.extend(_keys(client("kms"), tags, recorded))
    return found


def _goes_with_its_vpc(item: dict) -> bool:
    """A VPC's main route table and default security group go with it; an endpoint being deleted is gone."""
    return (
        any(a.get("Main") for a in item.get("Associations", []))
        or item.get("GroupName") == "default"
        or str(item.get("State", "")).lower() in ("deleting", "deleted")
    )


def _deleter(ec2: Any, kind: str, item: dict) -> Callable[[], None]:
    if kind == "flow log":
        return _call(ec2.delete_flow_logs, FlowLogIds=[item["FlowLogId"]])
    if kind == "VPC endpoint":
        return _call(ec2.delete_vpc_endpoints, VpcEndpointIds=[item["VpcEndpointId"]])
    if kind == "route table":
        return _route_table_deleter(ec2, item)
    if kind == "subnet":
        return _call(ec2.delete_subnet, SubnetId=item["SubnetId"])
    return _call(ec2.delete_security_group, GroupId=item["GroupId"])


def _keys(kms: Any, tags: dict[str, str], recorded: set[str]) -> Iterator[Untracked]:
    """Customer keys with the tags, enabled or disabled, not recorded. A key whose policy does not let
    these credentials read it (usual in a shared account) is not the platform's: it is passed over."""
    from botocore.exceptions import ClientError

    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            if key["KeyId"] in recorded or key["KeyArn"] in recorded:
                continue
            try:
                meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                if meta.get("KeyManager") != "CUSTOMER" or meta.get("KeyState") in (
                    "PendingDeletion",
                    "PendingReplicaDeletion",
                ):
                    continue
                listed = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
            except ClientError:
                continue
            have = {t["TagKey"]: t["TagValue"] for t in listed}
            if all(have.get(k) == v for k, v in tags.items()):
                yield Untracked(
                    "KMS key",
                    key["KeyId"],
                    _call(kms.schedule_key_deletion, KeyId=key["KeyId"], PendingWindowInDays=KEY_DELETION_DAYS),
                )


def _call(method: Callable[..., Any], **kwargs: Any) -> Callable[[], None]:
    return lambda: method(**kwargs) and None


def _route_table_deleter(ec2: Any, table: dict) -> Callable[[], None]:
    def delete() -> None:
        for association in table.get("Associations", []):
            if association.get("RouteTableAssociationId") and not association.get("Main"):
                ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
        ec2.delete_route_table(RouteTableId=table["RouteTableId"])

    return delete


def lock_held(client: Callable[[str], Any], backend: dict | None) -> str | None:
    """The S3 lockfile of the stack's state (`<key>.tflock`, the backend's `use_lockfile`), when another
    run holds it: that run may be creating objects it has not recorded yet, so nothing is removed."""
    from botocore.exceptions import ClientError

    s3 = (backend or {}).get("s3")
    if not s3 or not s3.get("bucket") or not s3.get("key"):
        return None
    lock = f"{s3['key']}.tflock"
    try:
        client("s3").head_object(Bucket=s3["bucket"], Key=lock)
    except ClientError:
        return None
    return f"s3://{s3['bucket']}/{lock}"


def sweep_with(
    env: ResolvedEnv,
    client: Callable[[str], Any],
    state: dict | None,
    report: Reporter,
    delete: bool,
    backend: dict | None = None,
) -> list[Untracked]:
    """Find the untracked objects (see the module's doc) and, when `delete`, delete each in order,
    reporting it. Returns what was found. `state` must be read just before (`terraform state pull`);
    `backend` is the stack's backend block: while another run holds its lock, nothing is deleted."""
    found = find_with(env, client, recorded_ids(state))
    if delete and found:
        held = lock_held(client, backend)
        if held:
            report(f"{len(found)} untracked object(s) left alone: another run holds the state lock {held}")
            return found
        for item in found:
            item.delete()
            report(f"removed untracked {item}: made by an earlier run that died before recording it")
    return found
