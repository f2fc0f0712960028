"""Evaluates a template's intrinsic functions for given parameters and physical ids (policy lint, parity tests).

Only what the generated template uses: Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or,
Fn::Join, and the pseudo parameters. Anything else is a ResolveError, never a silent pass-through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = "AWS::NoValue"
_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class ResolveError(ValueError):
    """An intrinsic function or reference this resolver cannot evaluate."""


class _Absent:
    """AWS::NoValue: the property (or list item) disappears."""


ABSENT = _Absent()
PhysicalIds = Callable[[str, str | None], str]


def pseudo_parameters(region: str, account_id: str, stack_name: str = "stack") -> dict[str, str]:
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        "AWS::StackName": stack_name,
    }


@dataclass
class Resolver:
    """One evaluation context: parameter values (defaults filled in), physical ids, the template's conditions."""

    template: dict[str, Any]
    parameters: dict[str, str]
    physical: PhysicalIds
    _conditions: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = {
            name: str(spec["Default"])
            for name, spec in self.template.get("Parameters", {}).items()
            if "Default" in spec
        }
        values.update(self.parameters)
        self.parameters = values

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definition = self.template.get("Conditions", {}).get(name)
            if definition is None:
                raise ResolveError(f"unknown condition {name}")
            self._conditions[name] = bool(self.value(definition))
        return self._conditions[name]

    def _ref(self, name: str) -> Any:
        if name == NO_VALUE:
            return ABSENT
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template.get("Resources", {}):
            return self.physical(name, None)
        raise ResolveError(f"Ref to unknown {name}")

    def _getatt(self, name: str, attribute: str) -> str:
        if name not in self.template.get("Resources", {}):
            raise ResolveError(f"Fn::GetAtt of unknown resource {name}")
        return self.physical(name, attribute)

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, extra = argument[0], {k: self.value(v) for k, v in argument[1].items()}
        else:
            text, extra = argument, {}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self._getatt(resource, attribute)
            return str(self._ref(name))

        return _VARIABLE.sub(one, str(text)).replace("${!", "${")

    def value(self, node: Any) -> Any:
        """`node` with every intrinsic function evaluated; AWS::NoValue items and keys removed."""
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not ABSENT]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, argument), *_ = node.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Fn::GetAtt":
                name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self._getatt(name, attribute)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::If":
                name, when_true, when_false = argument
                return self.value(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.value(a) for a in argument)
                return left == right
            if key == "Fn::Not":
                return not self.value(argument[0])
            if key == "Fn::And":
                return all(self.value(a) for a in argument)
            if key == "Fn::Or":
                return any(self.value(a) for a in argument)
            if key == "Fn::Join":
                separator, items = argument
                return str(separator).join(str(v) for v in self.value(items))
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if key.startswith("Fn::"):
                raise ResolveError(f"{key} is not supported")
        resolved = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not ABSENT}

    def resources(self) -> dict[str, dict[str, Any]]:
        """Every resource whose condition holds, properties evaluated."""
        out = {}
        for logical_id, resource in self.template.get("Resources", {}).items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            out[logical_id] = {**resource, "Properties": self.value(resource.get("Properties", {}))}
        return out


def example_physical_ids(account_id: str, region: str) -> PhysicalIds:
    """Plausible physical ids for resources that do not exist (linting a template before any deploy)."""

    def physical(logical_id: str, attribute: str | None) -> str:
        if attribute == "Arn":
            return f"arn:aws:iam::{account_id}:role/{logical_id}"
        return f"{logical_id.upper()[:10]}EXAMPLE"

    return physical
