"""Where a stack's lake lives: the bucket from .devstate/<stack>/outputs.json or the command line, and S3 clients."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from kit.clients import Endpoints, Role, client
from kit.constants import DEFAULT_REGION, StackNameError, check_stack_name
from kit.state import DEFAULT_STATE_ROOT, StateLayout

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_STATE_DIR = DEFAULT_STATE_ROOT


class StackError(ValueError):
    """The stack name or its saved outputs cannot give what a command needs."""


def validate_stack_name(stack: str) -> str:
    """Stack names become QuickSight resource ids and state paths: the one rule bootstrap applies too."""
    try:
        return check_stack_name(stack)
    except StackNameError as e:
        raise StackError(str(e)) from e


def resolve_bucket(stack: str, bucket: str | None, state_dir: Path = DEFAULT_STATE_DIR) -> str:
    """--bucket when given, else `dataBucket` from .devstate/<stack>/outputs.json."""
    validate_stack_name(stack)
    if bucket:
        return bucket
    outputs = StateLayout(state_dir, stack).outputs_file
    try:
        data = json.loads(outputs.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise StackError(f"{outputs} does not exist: run bootstrap for stack {stack!r} first, or pass --bucket") from e
    except (OSError, json.JSONDecodeError) as e:
        raise StackError(f"{outputs} is unreadable ({e}); pass --bucket") from e
    value = data.get("dataBucket") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise StackError(f"{outputs} has no 'dataBucket'; pass --bucket")
    return value


ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")  # what boto3 itself would honour


def dev_server_endpoint(stack: str, state_dir: Path = DEFAULT_STATE_DIR) -> str | None:
    """The S3 endpoint of a dev server running this stack (from .devstate/<stack>/runtime.json), if one runs.

    Lets `python -m quicksight check|preview --stack dev` reach `make dev`'s embedded backend, whose port changes
    on every start, without the user copying it. A runtime file left by a dev server that is gone is ignored.
    """
    running = StateLayout(state_dir, stack).read_runtime()
    return running.endpoint_for("s3") if running is not None else None


def resolve_endpoint(stack: str, given: str | None, state_dir: Path = DEFAULT_STATE_DIR) -> tuple[str | None, str]:
    """The S3 endpoint to use and where it came from: --endpoint-url, then boto3's variables, then a running dev
    server for the stack, else None (AWS itself)."""
    if given:
        return given, "--endpoint-url"
    for name in ENDPOINT_VARIABLES:
        if os.environ.get(name):
            return None, name  # boto3 reads it itself
    running = dev_server_endpoint(stack, state_dir)
    if running:
        return running, f"the dev server running stack {stack!r} ({StateLayout(state_dir, stack).runtime_file})"
    return None, "AWS"


def s3_client(
    endpoint_url: str | None = None,
    region: str | None = None,
    *,
    pool_size: int = 32,
    emulator: bool = False,
) -> S3Client:
    """An S3 client sized for the reader's thread pool; endpoint None = boto3's own (AWS_ENDPOINT_URL or AWS).

    `emulator=True` (the endpoint is moto, LocalStack or the dev server's backend, given or from boto3's variables):
    with no credentials configured, kit.clients signs with the placeholder pair, since emulators accept any and an
    offline developer has none. AWS itself never gets invented credentials.
    """
    if emulator and endpoint_url is None:
        endpoint_url = next((os.environ[name] for name in ENDPOINT_VARIABLES if os.environ.get(name)), None)
    endpoints = Endpoints.of(endpoint_url) if endpoint_url else None
    region = region or boto3.session.Session().region_name or DEFAULT_REGION
    found: S3Client = client("s3", role=Role.READER, endpoints=endpoints, region=region, pool_size=pool_size)
    return found
