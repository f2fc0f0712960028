"""IAM policy evaluation for identity-based policies: explicit deny over allow, wildcards, and condition operators.

for parity: "Policy evaluation logic" and "IAM JSON policy elements: Condition operators" of the IAM user guide
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
 https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


class PolicyError(ValueError):
    """A policy document IAM itself would refuse (MalformedPolicyDocument)."""


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"  # no statement allows it


@dataclass(frozen=True)
class AuthorizationRequest:
    """One IAM action on one resource, with the request's condition keys (each a list of values)."""

    action: str  # e.g. "dynamodb:PutItem"
    resource: str  # an ARN, or "*" for actions without a resource
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # for parity: in Action and Resource, '*' matches any run of characters and '?' any one character.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rf"\A{regex}\Z", (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).match(value) is not None


def _as_list(value: Any, where: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{where} must be a string or a list of strings")
    return values


def _condition_values(value: Any, where: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, (str, bool, int, float)) for v in values):
        raise PolicyError(f"{where} must hold strings, numbers or booleans")
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def test(actual: str, expected: str) -> bool:
        a, b = _number(actual), _number(expected)
        return a is not None and b is not None and compare(a, b)

    return test


def _arn_like(actual: str, expected: str) -> bool:
    # for parity: ArnLike compares each of the six colon-delimited ARN parts, with wildcards inside a part.
    a, b = actual.split(":", 5), expected.split(":", 5)
    return len(a) == len(b) == 6 and all(matches(pb, pa) for pa, pb in zip(a, b, strict=True))


# operator -> (single-value test, negated). Negated operators are true when the key is absent.
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda a, b: a == b, False),
    "StringNotEquals": (lambda a, b: a == b, True),
    "StringEqualsIgnoreCase": (lambda a, b: a.lower() == b.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda a, b: a.lower() == b.lower(), True),
    "StringLike": (lambda a, b: matches(b, a), False),
    "StringNotLike": (lambda a, b: matches(b, a), True),
    "NumericEquals": (_numeric(lambda a, b: a == b), False),
    "NumericNotEquals": (_numeric(lambda a, b: a == b), True),
    "NumericLessThan": (_numeric(lambda a, b: a < b), False),
    "NumericLessThanEquals": (_numeric(lambda a, b: a <= b), False),
    "NumericGreaterThan": (_numeric(lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, b: a >= b), False),
    "Bool": (lambda a, b: a.lower() == b.lower(), False),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
}


@dataclass(frozen=True)
class Condition:
    operator: str
    key: str
    values: tuple[str, ...]

    def holds(self, context: Mapping[str, Sequence[str]]) -> bool:
        name, qualifier, if_exists = self.operator, "", False
        if ":" in name:
            qualifier, name = name.split(":", 1)
        if name != "Null" and name.endswith("IfExists"):
            name, if_exists = name[: -len("IfExists")], True
        present = {k.lower(): v for k, v in context.items()}.get(self.key.lower())
        if name == "Null":
            # for parity: Null true = the key is absent; false = present.
            return any((present is None) == (v.lower() == "true") for v in self.values)
        test, negated = _OPERATORS[name]
        if not present:
            return if_exists or negated
        if qualifier == "ForAllValues":
            hit = all(any(test(a, b) for b in self.values) for a in present)
        else:  # single-valued keys and ForAnyValue: any request value matching any policy value
            hit = any(test(a, b) for a in present for b in self.values)
        return not hit if negated else hit


@dataclass(frozen=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    conditions: tuple[Condition, ...]

    def applies(self, request: AuthorizationRequest) -> bool:
        if self.actions and not any(matches(p, request.action, ignore_case=True) for p in self.actions):
            return False
        if self.not_actions and any(matches(p, request.action, ignore_case=True) for p in self.not_actions):
            return False
        if self.resources and not any(matches(p, request.resource) for p in self.resources):
            return False
        if self.not_resources and any(matches(p, request.resource) for p in self.not_resources):
            return False
        return all(condition.holds(request.context) for condition in self.conditions)


def _operator_known(operator: str) -> bool:
    name = operator.split(":", 1)[-1]
    if operator.split(":", 1)[0] not in (name, "ForAnyValue", "ForAllValues"):
        return False
    if name != "Null" and name.endswith("IfExists"):
        name = name[: -len("IfExists")]
    return name == "Null" or name in _OPERATORS


def _parse_statement(raw: Any, where: str) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}.Effect must be Allow or Deny")
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"{where} needs exactly one of Action and NotAction")
    if ("Resource" in raw) == ("NotResource" in raw):
        raise PolicyError(f"{where} needs exactly one of Resource and NotResource")
    conditions: list[Condition] = []
    block = raw.get("Condition", {})
    if not isinstance(block, dict):
        raise PolicyError(f"{where}.Condition must be an object")
    for operator, pairs in block.items():
        if not _operator_known(operator) or not isinstance(pairs, dict):
            raise PolicyError(f"{where}.Condition: unknown operator {operator!r}")
        for key, values in pairs.items():
            conditions.append(Condition(operator, key, tuple(_condition_values(values, f"{where}.Condition"))))

    def strings(name: str) -> tuple[str, ...]:
        return tuple(_as_list(raw[name], f"{where}.{name}")) if name in raw else ()

    return Statement(
        effect=effect,
        actions=strings("Action"),
        not_actions=strings("NotAction"),
        resources=strings("Resource"),
        not_resources=strings("NotResource"),
        conditions=tuple(conditions),
    )


@dataclass(frozen=True)
class Policy:
    """A parsed policy document."""

    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, document: str | Mapping[str, Any]) -> Policy:
        data = json.loads(document) if isinstance(document, str) else document
        if not isinstance(data, Mapping):
            raise PolicyError("a policy document must be a JSON object")
        raw = data.get("Statement")
        items = raw if isinstance(raw, list) else [raw]
        return cls(tuple(_parse_statement(s, f"Statement[{i}]") for i, s in enumerate(items)))


def evaluate(policies: Iterable[Policy], request: AuthorizationRequest) -> Decision:
    """An explicit Deny in any statement wins; else any Allow; else the implicit deny."""
    allowed = False
    for policy in policies:
        for statement in policy.statements:
            if statement.applies(request):
                if statement.effect == "Deny":
                    return Decision.EXPLICIT_DENY
                allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
