"""The one model of api/openapi.yaml: operations, Lambda functions with their IAM actions, and CORS."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from kit.cors import DEFAULT_CORS_ALLOW_HEADERS, CorsSpec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACT_PATH = PROJECT_ROOT / "api" / "openapi.yaml"

# The HTTP methods an OpenAPI path item can hold (API Gateway REST methods, without ANY).
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")

# for parity: a new Lambda function gets a 3 s timeout and 128 MB unless told otherwise; the timeout is a whole
# number of seconds up to 900 and memory 128-10,240 MB
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html,
#  https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
DEFAULT_TIMEOUT_SECONDS = 3
MAX_TIMEOUT_SECONDS = 900
DEFAULT_MEMORY_MB = 128
MEMORY_RANGE_MB = (128, 10240)


# for parity: an SQS event source mapping takes 1-10,000 messages per batch from a standard queue, waits at most
# 300 s to fill one, and needs a window of at least 1 s when the batch size is over 10
# (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html).
MAX_BATCH_SIZE = 10000
MAX_BATCH_WINDOW_SECONDS = 300
LAKE_EVENTS = "lake-events"  # the one trigger kind: the data bucket's S3 notifications of expenses/, through SQS


class ContractError(ValueError):
    """The contract cannot be served or deployed: a broken reference or a field of the wrong shape."""


@dataclass(frozen=True)
class Trigger:
    """What invokes a function that is not behind the API: the lake's S3 event notifications, batched by SQS."""

    kind: str  # LAKE_EVENTS
    batch_size: int
    batch_window_seconds: int


@dataclass(frozen=True)
class FunctionSpec:
    """One entry of `x-lambda-functions`: lambdas/<directory>/app.py, its Lambda settings and its role's actions."""

    directory: str
    name: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS  # whole seconds from the contract; tests may use less
    memory_mb: int = DEFAULT_MEMORY_MB
    table_actions: tuple[str, ...] = ()
    lake_actions: tuple[str, ...] = ()
    # Any further IAM statements of the role, with placeholders (STATEMENT_PLACEHOLDERS) for the stack's resources.
    statements: tuple[Mapping[str, Any], ...] = ()
    trigger: Trigger | None = None  # None: invoked by API Gateway for its operations
    # Where app.py lives when not lambdas/<directory>: an overlay's functions live beside the overlay (OVERLAY_KEY).
    code_dir: Path | None = None


# What a contract statement may name; bootstrap substitutes each for the stack's own value.
STATEMENT_PLACEHOLDERS = ("${TableArn}", "${DataBucketArn}", "${LakePrefix}", "${Region}", "${AccountId}", "${Stack}")
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}


def _parse_statement(raw: Any, where: str) -> Mapping[str, Any]:
    """One IAM statement of `x-lambda-functions.<fn>.statements`, checked for shape (IAM checks the rest)."""
    if not isinstance(raw, dict) or not set(raw) <= _STATEMENT_KEYS:
        raise ContractError(f"{where} must be a mapping of {', '.join(sorted(_STATEMENT_KEYS))}")
    if raw.get("Effect", "Allow") not in ("Allow", "Deny"):
        raise ContractError(f"{where}.Effect must be Allow or Deny")
    for key in ("Action", "Resource"):
        value = raw.get(key, raw.get(f"Not{key}"))
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise ContractError(f"{where} needs {key} (or Not{key}): a string or a list of strings")
        for text in values:
            for marker in re.findall(r"\$\{[^}]*\}", text):
                if marker not in STATEMENT_PLACEHOLDERS:
                    raise ContractError(
                        f"{where}: unknown placeholder {marker} (known: {', '.join(STATEMENT_PLACEHOLDERS)})"
                    )
    return {"Effect": "Allow", **raw}


@dataclass(frozen=True)
class Operation:
    """One resource + method of the contract, bound to the function that serves it."""

    resource: str  # the API Gateway resource path, e.g. "/expenses/{expenseId}"
    method: str  # upper case, e.g. "GET"
    function: str  # a key of x-lambda-functions


@dataclass(frozen=True)
class Contract:
    """The parsed contract, and the raw document for what only needs to pass it on (API Gateway's import)."""

    document: Mapping[str, Any]
    operations: tuple[Operation, ...]
    functions: Mapping[str, FunctionSpec]
    cors: CorsSpec = field(default_factory=CorsSpec)

    def raw(self) -> dict[str, Any]:
        """A deep copy of the document, safe to transform."""
        return copy.deepcopy(dict(self.document))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ContractError(f"{where} must be a list of strings")
    return tuple(value)


def _whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ContractError(f"{where} must be a whole number from {low} to {high}")
    return value


def _parse_function(directory: str, spec: Any) -> FunctionSpec:
    where = f"x-lambda-functions.{directory}"
    if not isinstance(spec, dict):
        raise ContractError(f"{where} must be a mapping")
    return FunctionSpec(
        directory=directory,
        name=str(spec.get("name", directory)),
        timeout_seconds=_whole(
            spec.get("timeout", DEFAULT_TIMEOUT_SECONDS), f"{where}.timeout", 1, MAX_TIMEOUT_SECONDS
        ),
        memory_mb=_whole(spec.get("memory", DEFAULT_MEMORY_MB), f"{where}.memory", *MEMORY_RANGE_MB),
        table_actions=_strings(spec.get("table", []), f"{where}.table"),
        lake_actions=_strings(spec.get("lake", []), f"{where}.lake"),
        statements=tuple(
            _parse_statement(item, f"{where}.statements[{n}]")
            for n, item in enumerate(_list(spec, "statements", where))
        ),
        trigger=_parse_trigger(spec.get("trigger"), f"{where}.trigger"),
    )


def _parse_trigger(raw: Any, where: str) -> Trigger | None:
    if raw is None:
        return None
    if (
        not isinstance(raw, dict)
        or raw.get("type") != LAKE_EVENTS
        or not set(raw) <= {"type", "batchSize", "batchWindow"}
    ):
        raise ContractError(f"{where} must be a mapping with type: {LAKE_EVENTS}, batchSize and batchWindow")
    size = _whole(raw.get("batchSize", 10), f"{where}.batchSize", 1, MAX_BATCH_SIZE)
    window = _whole(raw.get("batchWindow", 0), f"{where}.batchWindow", 0, MAX_BATCH_WINDOW_SECONDS)
    if size > 10 and window < 1:
        raise ContractError(f"{where}.batchWindow must be at least 1 when batchSize is over 10")
    return Trigger(kind=LAKE_EVENTS, batch_size=size, batch_window_seconds=window)


def _list(spec: dict[str, Any], key: str, where: str) -> list[Any]:
    value = spec.get(key, [])
    if not isinstance(value, list):
        raise ContractError(f"{where}.{key} must be a list")
    return value


def _parse_functions(raw: Any) -> dict[str, FunctionSpec]:
    if not isinstance(raw, dict) or not raw:
        raise ContractError("x-lambda-functions must be a non-empty mapping")
    return {str(directory): _parse_function(str(directory), spec) for directory, spec in raw.items()}


def _parse_operations(paths: Any, functions: Mapping[str, FunctionSpec]) -> tuple[Operation, ...]:
    if not isinstance(paths, dict) or not paths:
        raise ContractError("the contract has no paths")
    operations: list[Operation] = []
    for resource, item in paths.items():
        if not isinstance(item, dict):
            raise ContractError(f"paths.{resource} must be a mapping")
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            function = operation.get("x-lambda-function") if isinstance(operation, dict) else None
            if not isinstance(function, str):
                raise ContractError(f"{method.upper()} {resource} has no x-lambda-function")
            if function not in functions:
                raise ContractError(f"{method.upper()} {resource} names unknown function {function!r}")
            if functions[function].trigger is not None:
                raise ContractError(f"{method.upper()} {resource} names {function!r}, which has a trigger, not routes")
            operations.append(Operation(resource=str(resource), method=method.upper(), function=function))
    return tuple(operations)


def _parse_cors(raw: Any, operations: tuple[Operation, ...]) -> CorsSpec:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ContractError("x-cors must be a mapping")
    # Default methods: the contract's own, plus the preflight's OPTIONS.
    methods = sorted({op.method for op in operations} | {"OPTIONS"})
    max_age = raw.get("maxAge")
    return CorsSpec(
        allow_origins=_strings(raw.get("allowOrigins", ["*"]), "x-cors.allowOrigins"),
        allow_methods=_strings(raw.get("allowMethods", methods), "x-cors.allowMethods"),
        allow_headers=_strings(raw.get("allowHeaders", list(DEFAULT_CORS_ALLOW_HEADERS)), "x-cors.allowHeaders"),
        expose_headers=_strings(raw.get("exposeHeaders", []), "x-cors.exposeHeaders"),
        max_age=None if max_age is None else _whole(max_age, "x-cors.maxAge", 0, 86400),
    )


def parse_contract(document: Mapping[str, Any]) -> Contract:
    """Build a Contract from an already-loaded OpenAPI document; every broken reference is found here."""
    functions = _parse_functions(document.get("x-lambda-functions"))
    operations = _parse_operations(document.get("paths"), functions)
    cors = _parse_cors(document.get("x-cors"), operations)
    return Contract(document=document, operations=operations, functions=functions, cors=cors)


# An overlay is a contract fragment that names the contract it adds to (a path relative to itself): its operations
# and functions join that contract's, and its functions' code lives in directories beside it (<dir>/<key>/app.py).
# It may only add: a path or function of the base is never changed (e.g. the parity suite's probe, which never ships
# with the app: tests/parity/probe/openapi.yaml).
OVERLAY_KEY = "x-overlay-of"
_NEW_ONLY = ("paths", "x-lambda-functions")


def _added(base: Any, extra: Any, where: str) -> Any:
    """`extra` added to `base`: mappings key by key; a value present in both must be equal."""
    if isinstance(base, dict) and isinstance(extra, dict):
        merged = dict(base)
        for key, value in extra.items():
            merged[key] = _added(base[key], value, f"{where}.{key}") if key in base else value
        return merged
    if base != extra:
        raise ContractError(f"the overlay changes {where.lstrip('.')}: an overlay may only add to its contract")
    return base


def _with_overlay(base: Contract, overlay: Mapping[str, Any], overlay_dir: Path) -> Contract:
    extra = {key: value for key, value in overlay.items() if key != OVERLAY_KEY}
    for section in _NEW_ONLY:
        items = extra.get(section) or {}
        if not isinstance(items, dict):
            raise ContractError(f"the overlay's {section} must be a mapping")
        taken = sorted(str(key) for key in items if key in base.document.get(section, {}))
        if taken:
            raise ContractError(f"the overlay redefines {section} {', '.join(taken)}: an overlay may only add")
    contract = parse_contract(_added(base.raw(), extra, ""))
    own = {str(key) for key in extra.get("x-lambda-functions") or {}}
    functions = {
        key: replace(spec, code_dir=overlay_dir / key) if key in own else base.functions.get(key, spec)
        for key, spec in contract.functions.items()
    }
    return replace(contract, functions=functions)


@lru_cache(maxsize=8)
def _document(path: str, mtime_ns: int) -> Mapping[str, Any]:
    import yaml  # only the kit's tools read YAML; the Lambda zip never loads the contract

    try:
        with open(path, encoding="utf-8") as f:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            document = yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader, the C one when available
    except (OSError, yaml.YAMLError) as e:
        raise ContractError(f"cannot read the contract {path}: {e}") from e
    if not isinstance(document, dict):
        raise ContractError(f"{path} is not an OpenAPI document")
    return document


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> Contract:
    return parse_contract(_document(path, mtime_ns))


def load_contract(path: Path = CONTRACT_PATH) -> Contract:
    """The contract at `path`, parsed once per file version (never per request); an overlay (OVERLAY_KEY) comes
    merged onto the contract it names."""
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError as e:
        raise ContractError(f"contract not found: {path}") from e
    document = _document(str(path), mtime)
    base = document.get(OVERLAY_KEY)
    if base is None:
        return _load(str(path), mtime)
    if not isinstance(base, str) or not base:
        raise ContractError(f"{path}: {OVERLAY_KEY} must name the contract the overlay adds to")
    overlay_dir = Path(path).resolve().parent
    return _with_overlay(load_contract(overlay_dir / base), document, overlay_dir)
