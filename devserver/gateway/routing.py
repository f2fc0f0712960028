"""Precompiled resource tree that matches request paths the way API Gateway REST selects a resource."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from kit.contract import Operation


@dataclass
class _Node:
    """One path segment of the resource tree."""

    static: dict[str, _Node] = field(default_factory=dict)
    param_name: str | None = None
    param: _Node | None = None
    greedy_name: str | None = None  # a `{name+}` proxy resource below this node
    greedy: _Node | None = None
    resource: str | None = None
    methods: dict[str, Operation] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteMatch:
    """The resource a path selected, its path parameters and the methods defined on it."""

    resource: str
    path_parameters: Mapping[str, str]
    methods: Mapping[str, Operation]


def split_raw_path(path: str) -> list[str] | None:
    """The raw (still percent-encoded) segments of a path, or None when it cannot name a resource.

    for parity: one trailing slash names the same resource (`/expenses/` is `/expenses`), as API Gateway REST
    routes it (seen on AWS: https://github.com/aws-powertools/powertools-lambda-python/issues/1552); an empty
    segment inside the path (`//`) names none.
    """
    if not path.startswith("/"):
        return None
    if path == "/":
        return []
    body = path[1:-1] if path.endswith("/") else path[1:]
    raw_segments = body.split("/")
    if any(not segment for segment in raw_segments):
        return None
    return raw_segments


def split_path(path: str) -> list[str] | None:
    """The decoded segments of a raw (percent-encoded) path, or None when it cannot name a resource."""
    raw_segments = split_raw_path(path)
    if raw_segments is None:
        return None
    return [unquote(segment) for segment in raw_segments]


class Router:
    """Matches paths against the contract's resources; built once, no regex or parsing per request."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        self._root = _Node()
        for operation in operations:
            node = self._insert(operation.resource)
            node.resource = operation.resource
            node.methods[operation.method] = operation

    def _insert(self, resource: str) -> _Node:
        node = self._root
        segments = split_path(resource)
        if segments is None:
            raise ValueError(f"invalid resource path {resource!r}")
        for segment in segments:
            if segment.startswith("{") and segment.endswith("+}"):
                name = segment[1:-2]
                if node.greedy is None:
                    node.greedy, node.greedy_name = _Node(), name
                node = node.greedy
            elif segment.startswith("{") and segment.endswith("}"):
                name = segment[1:-1]
                if node.param is None:
                    node.param, node.param_name = _Node(), name
                elif node.param_name != name:
                    # for parity: API Gateway refuses sibling resources with different variable names.
                    raise ValueError(f"conflicting path variables {node.param_name!r} and {name!r}")
                node = node.param
            else:
                node = node.static.setdefault(segment, _Node())
        return node

    def match(self, segments: list[str], raw_segments: list[str] | None = None) -> RouteMatch | None:
        """The most specific resource for these decoded segments, or None.

        Path parameters take their values from `raw_segments` (the same segments as received) when given:
        for parity, API Gateway REST routes on the decoded path but hands `pathParameters` over still
        percent-encoded (captures: https://github.com/serverless/serverless/issues/5037,
        https://github.com/middleapi/standard-server/pull/93 citing live captures in hotsock/voker#8).
        """
        params: dict[str, str] = {}
        values = raw_segments if raw_segments is not None else segments
        node = self._walk(self._root, segments, values, 0, params)
        if node is None or node.resource is None:
            return None
        return RouteMatch(resource=node.resource, path_parameters=params, methods=node.methods)

    def _walk(
        self, node: _Node, segments: list[str], values: list[str], index: int, params: dict[str, str]
    ) -> _Node | None:
        if index == len(segments):
            return node if node.resource is not None else None
        segment = segments[index]
        # for parity: API Gateway prefers a static segment over a path variable, and a path variable
        # over a greedy `{proxy+}`, backtracking when the more specific branch leads nowhere.
        child = node.static.get(segment)
        if child is not None:
            found = self._walk(child, segments, values, index + 1, params)
            if found is not None:
                return found
        if node.param is not None and node.param_name is not None:
            params[node.param_name] = values[index]
            found = self._walk(node.param, segments, values, index + 1, params)
            if found is not None:
                return found
            del params[node.param_name]
        if node.greedy is not None and node.greedy_name is not None and node.greedy.resource is not None:
            params[node.greedy_name] = "/".join(values[index:])
            return node.greedy
        return None
