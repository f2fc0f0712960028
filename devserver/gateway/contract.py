"""Reads api/openapi.yaml once into what the gateway needs: operations, function settings and CORS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The HTTP methods an OpenAPI path item can hold (API Gateway REST methods, without ANY).
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


class ContractError(ValueError):
    """The contract cannot be served: a broken reference or a missing field, found at load time."""


@dataclass(frozen=True)
class FunctionSpec:
    """One entry of `x-lambda-functions`: the function dir under lambdas/ and its Lambda settings."""

    directory: str
    name: str
    timeout_seconds: float
    memory_mb: int


@dataclass(frozen=True)
class Operation:
    """One resource + method of the contract, bound to the function that serves it."""

    resource: str  # the API Gateway resource path, e.g. "/expenses/{expenseId}"
    method: str  # upper case, e.g. "GET"
    function: str  # a key of x-lambda-functions


@dataclass(frozen=True)
class CorsSpec:
    """The contract's `x-cors`: one CORS configuration for the dev server and bootstrap."""

    allow_origins: tuple[str, ...] = ("*",)
    allow_methods: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
    allow_headers: tuple[str, ...] = ("Content-Type", "Authorization")
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None


@dataclass(frozen=True)
class Contract:
    """The parts of the OpenAPI contract the gateway serves from."""

    operations: tuple[Operation, ...]
    functions: Mapping[str, FunctionSpec] = field(default_factory=dict)
    cors: CorsSpec = field(default_factory=CorsSpec)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ContractError(f"{where} must be a list of strings")
    return tuple(value)


def _parse_functions(raw: Any) -> dict[str, FunctionSpec]:
    if not isinstance(raw, dict):
        raise ContractError("x-lambda-functions must be a mapping")
    functions: dict[str, FunctionSpec] = {}
    for directory, spec in raw.items():
        if not isinstance(spec, dict):
            raise ContractError(f"x-lambda-functions.{directory} must be a mapping")
        functions[str(directory)] = FunctionSpec(
            directory=str(directory),
            name=str(spec.get("name", directory)),
            # for parity: Lambda's default timeout is 3 s and its default memory 128 MB.
            timeout_seconds=float(spec.get("timeout", 3)),
            memory_mb=int(spec.get("memory", 128)),
        )
    return functions


def _parse_cors(raw: Any) -> CorsSpec:
    if raw is None:
        return CorsSpec()
    if not isinstance(raw, dict):
        raise ContractError("x-cors must be a mapping")
    defaults = CorsSpec()
    max_age = raw.get("maxAge")
    return CorsSpec(
        allow_origins=_strings(raw.get("allowOrigins", list(defaults.allow_origins)), "x-cors.allowOrigins"),
        allow_methods=_strings(raw.get("allowMethods", list(defaults.allow_methods)), "x-cors.allowMethods"),
        allow_headers=_strings(raw.get("allowHeaders", list(defaults.allow_headers)), "x-cors.allowHeaders"),
        expose_headers=_strings(raw.get("exposeHeaders", []), "x-cors.exposeHeaders"),
        max_age=int(max_age) if max_age is not None else None,
    )


def parse_contract(document: Mapping[str, Any]) -> Contract:
    """Build a Contract from an already-loaded OpenAPI document."""
    functions = _parse_functions(document.get("x-lambda-functions", {}))
    paths = document.get("paths")
    if not isinstance(paths, dict):
        raise ContractError("the contract has no paths")
    operations: list[Operation] = []
    for resource, item in paths.items():
        if not isinstance(item, dict):
            raise ContractError(f"paths.{resource} must be a mapping")
        for method in _HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            function = operation.get("x-lambda-function") if isinstance(operation, dict) else None
            if not isinstance(function, str):
                raise ContractError(f"{method.upper()} {resource} has no x-lambda-function")
            if function not in functions:
                raise ContractError(f"{method.upper()} {resource} names unknown function {function!r}")
            operations.append(Operation(resource=str(resource), method=method.upper(), function=function))
    return Contract(operations=tuple(operations), functions=functions, cors=_parse_cors(document.get("x-cors")))


def load_contract(path: Path) -> Contract:
    """Read and parse the contract file (once, at start: never per request)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ContractError(f"cannot read the contract {path}: {e}") from e
    if not isinstance(document, dict):
        raise ContractError(f"{path} is not an OpenAPI document")
    return parse_contract(document)
