"""One-attribute resource rules in one call, as checkov's `BaseResourceValueCheck` does.

Many resource rules read one attribute of one resource type and compare it with one expected value.
Such a rule is a file with a single call:

    value_rule(id="MLOPS_AWS_016", name="Image repositories refuse to overwrite a tag", severity="high",
               category="registry", resource_type="aws_ecr_repository", path=("image_tag_mutability",),
               expected="IMMUTABLE", message="image_tag_mutability is not IMMUTABLE")

`path` leads through nested blocks to the attribute (`tfjson.block` reads a block written as an
object or as a one-item list). A rule that reads two attributes, several types or other resources
stays a plain `@rule` function.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

from mlops_blueprint.policies.engine import Rule, register
from mlops_blueprint.policies.tfjson import Doc, block


class _AnyValue:
    def __repr__(self) -> str:
        return "ANY_VALUE"


ANY_VALUE = _AnyValue()
"""`expected=ANY_VALUE`: the attribute is set to a non-empty value (not missing, null, false, "", [] or {})."""


def matches(value: object, expected: object) -> bool:
    """`value` is `expected`: equal and of the same type (so 1 is not true and "true" is not true),
    or, for ANY_VALUE, set to a non-empty value."""
    if expected is ANY_VALUE:
        return bool(value)
    return type(value) is type(expected) and value == expected


def value_check(
    resource_type: str, path: tuple[str, ...], expected: object, message: str
) -> Callable[[Doc], Iterator[tuple[str, bool, str]]]:
    """The check function: every resource of `resource_type` passes when the attribute at `path`
    matches `expected`, and fails with `message` otherwise."""
    if isinstance(path, str) or not path:
        raise ValueError(f"path {path!r}: give the attribute's path as a tuple of names, e.g. ('enable_key_rotation',)")
    *blocks, attribute = path

    def check(d: Doc) -> Iterator[tuple[str, bool, str]]:
        for addr, body in d.of(resource_type):
            ok = matches(block(body, *blocks).get(attribute), expected)
            yield addr, ok, "" if ok else message

    return check


def value_rule(
    *,
    id: str,
    name: str,
    severity: str,
    category: str,
    resource_type: str,
    path: tuple[str, ...],
    expected: object,
    message: str,
    module: str | None = None,
) -> Rule:
    """Register a resource rule that checks one attribute of one resource type (see `value_check`).

    The rule belongs to the module that calls this (its folder under `policies/rules/` is the rule's
    cloud), unless `module` names another, as `collections.namedtuple` does."""
    module = module or sys._getframe(1).f_globals["__name__"]
    return register(
        id=id,
        name=name,
        severity=severity,
        category=category,
        layer="resource",
        check=value_check(resource_type, tuple(path), expected, message),
        applies_to=(resource_type,),
        module=module,
    )
