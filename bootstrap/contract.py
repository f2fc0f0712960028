"""Reads the one API contract (api/openapi.yaml) that every provisioned resource derives from."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACT_PATH = PROJECT_ROOT / "api" / "openapi.yaml"


class ContractError(ValueError):
    """The contract is missing or does not have the shape bootstrap relies on."""


@dataclass(frozen=True)
class FunctionContract:
    """One entry of `x-lambda-functions`: a Lambda function and exactly what its role may do."""

    key: str
    name: str
    timeout: int
    memory: int
    table_actions: tuple[str, ...]
    lake_actions: tuple[str, ...]


@dataclass(frozen=True)
class CorsContract:
    """The `x-cors` block: one CORS configuration for OPTIONS mocks and gateway responses."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age: int


@dataclass(frozen=True)
class Contract:
    """The parsed contract: the raw document plus its bootstrap-specific extensions."""

    document: dict[str, Any]
    functions: dict[str, FunctionContract]
    cors: CorsContract

    def raw(self) -> dict[str, Any]:
        """A deep copy of the document, safe to transform."""
        return copy.deepcopy(self.document)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContractError(f"{where} must be a list of strings")
    return tuple(value)


def parse_contract(document: dict[str, Any]) -> Contract:
    """Validates the extensions bootstrap needs and returns them typed."""
    raw_functions = document.get("x-lambda-functions")
    if not isinstance(raw_functions, dict) or not raw_functions:
        raise ContractError("x-lambda-functions is missing or empty")
    functions: dict[str, FunctionContract] = {}
    for key, entry in raw_functions.items():
        if not isinstance(entry, dict):
            raise ContractError(f"x-lambda-functions.{key} must be a mapping")
        try:
            functions[key] = FunctionContract(
                key=key,
                name=str(entry["name"]),
                timeout=int(entry["timeout"]),
                memory=int(entry["memory"]),
                table_actions=_strings(entry.get("table", []), f"x-lambda-functions.{key}.table"),
                lake_actions=_strings(entry.get("lake", []), f"x-lambda-functions.{key}.lake"),
            )
        except KeyError as e:
            raise ContractError(f"x-lambda-functions.{key} lacks {e.args[0]}") from e
    raw_cors = document.get("x-cors")
    if not isinstance(raw_cors, dict):
        raise ContractError("x-cors is missing")
    cors = CorsContract(
        allow_origins=_strings(raw_cors.get("allowOrigins", ["*"]), "x-cors.allowOrigins"),
        allow_methods=_strings(raw_cors.get("allowMethods", []), "x-cors.allowMethods"),
        allow_headers=_strings(raw_cors.get("allowHeaders", []), "x-cors.allowHeaders"),
        expose_headers=_strings(raw_cors.get("exposeHeaders", []), "x-cors.exposeHeaders"),
        max_age=int(raw_cors.get("maxAge", 0)),
    )
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            fn = operation.get("x-lambda-function")
            if fn not in functions:
                raise ContractError(f"{method.upper()} {path}: x-lambda-function {fn!r} is not in x-lambda-functions")
    return Contract(document=document, functions=functions, cors=cors)


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> Contract:
    with open(path, encoding="utf-8") as f:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader, the C one when available
    if not isinstance(document, dict):
        raise ContractError(f"{path} is not a mapping")
    return parse_contract(document)


def load_contract(path: Path = CONTRACT_PATH) -> Contract:
    """The contract at `path`, parsed once per file version."""
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError as e:
        raise ContractError(f"contract not found: {path}") from e
    return _load(str(path), mtime)
