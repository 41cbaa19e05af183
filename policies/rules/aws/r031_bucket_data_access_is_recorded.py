"""MLOPS_AWS_031: Every object read and write on the platform's buckets is recorded by CloudTrail."""

from mlops_blueprint.policies.engine import rule
from mlops_blueprint.policies.tfjson import Doc, as_list, refs


def _covers(trail: dict, bucket: str) -> bool:
    """Whether `trail` logs S3 object (data) events for `bucket`: an advanced selector on Data events of
    AWS::S3::Object with no ARN condition or one naming the bucket, or a classic data_resource."""
    for sel in as_list(trail.get("advanced_event_selector")):
        fields = {f.get("field"): f for f in as_list(sel.get("field_selector"))}
        if "Data" not in as_list(fields.get("eventCategory", {}).get("equals")):
            continue
        if "AWS::S3::Object" not in as_list(fields.get("resources.type", {}).get("equals")):
            continue
        arn = fields.get("resources.ARN")
        if arn is None or bucket in refs([arn.get("starts_with"), arn.get("equals")]):
            return True
    for sel in as_list(trail.get("event_selector")):
        for res in as_list(sel.get("data_resource")):
            values = as_list(res.get("values"))
            if res.get("type") == "AWS::S3::Object" and (bucket in refs(values) or "arn:aws:s3" in values):
                return True
    return False


@rule(
    id="MLOPS_AWS_031",
    name="Every object read and write on the platform's buckets is recorded by CloudTrail",
    severity="high",
    category="baseline",
    applies_to=("aws_s3_bucket",),
)
def check(d: Doc):
    trails = [b for _, b in d.of("aws_cloudtrail") if b.get("enable_logging", True) is not False]
    # The trail's own log bucket (and the flow logs') is where records go, not data to watch.
    sinks = {r for t in trails for r in refs(t.get("s3_bucket_name"))}
    sinks |= {r for _, f in d.of("aws_flow_log") for r in refs(f.get("log_destination"))}
    for addr, _ in d.of("aws_s3_bucket"):
        if addr in sinks:
            continue
        ok = any(_covers(t, addr) for t in trails)
        yield addr, ok, "" if ok else "no logging CloudTrail trail records S3 data events on this bucket"
