"""Markers that let the direct path's own functions produce CloudFormation values (Fn::Sub, Ref, Fn::GetAtt).

The template is built by calling the same functions the direct path calls (names from spec.py, documents from
policies.py, settings from the resource modules) with a spec whose stack, account and region are markers; every
string that carries a marker then becomes an intrinsic function. Nothing is spelt twice, so nothing can drift.
"""

from __future__ import annotations

import re
from typing import Any

from bootstrap.spec import StackSpec

# Each marker satisfies the spec's own validation (stack pattern, region pattern, 12-digit account).
STACK_MARK = "cfnstackmark"
ACCOUNT_MARK = "000011112222"
REGION_MARK = "zz-mark-9"
STACK_PARAMETER = "StackName"
_REFERENCE = re.compile(r"\{\{cfn:([A-Za-z0-9:]+(?:\.[A-Za-z0-9]+)?)\}\}")
_WHOLE = re.compile(r"^\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z0-9]+))?\}$")


def symbolic_spec() -> StackSpec:
    """The stack definition with markers for what differs per deployment."""
    return StackSpec(stack=STACK_MARK, region=REGION_MARK, account_id=ACCOUNT_MARK, on_aws=True)


def ref(logical_id: str, attribute: str | None = None) -> str:
    """A marker standing for `Ref logical_id` (or `Fn::GetAtt logical_id.attribute`) inside any string."""
    return "{{cfn:" + logical_id + (f".{attribute}" if attribute else "") + "}}"


def _carries_marker(text: str) -> bool:
    return any(mark in text for mark in (STACK_MARK, ACCOUNT_MARK, REGION_MARK, "{{cfn:"))


def _string(text: str) -> Any:
    if not _carries_marker(text):
        return text
    # A literal "${" must survive Fn::Sub: CloudFormation writes it "${!".
    out = text.replace("${", "${!")
    if REGION_MARK in out or ACCOUNT_MARK in out or STACK_MARK in out:
        out = out.replace("arn:aws:", "arn:${AWS::Partition}:")
    out = out.replace(STACK_MARK, "${" + STACK_PARAMETER + "}")
    out = out.replace(ACCOUNT_MARK, "${AWS::AccountId}")
    out = out.replace(REGION_MARK, "${AWS::Region}")
    out = _REFERENCE.sub(lambda m: "${" + m.group(1) + "}", out)
    whole = _WHOLE.match(out)
    if whole:
        name, attribute = whole.groups()
        return {"Fn::GetAtt": [name, attribute]} if attribute else {"Ref": name}
    return {"Fn::Sub": out}


def intrinsic(value: Any) -> Any:
    """`value` with every marker-carrying string turned into the intrinsic function it stands for."""
    if isinstance(value, dict):
        return {key: intrinsic(item) for key, item in value.items()}
    if isinstance(value, list):
        return [intrinsic(item) for item in value]
    if isinstance(value, str):
        return _string(value)
    return value
