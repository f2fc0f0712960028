"""Where a stack's lake lives: the bucket from .devstate/<stack>/outputs.json or the command line, and S3 clients."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_STATE_DIR = Path(".devstate")
_STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
DEFAULT_REGION = "us-east-1"


class StackError(ValueError):
    """The stack name or its saved outputs cannot give what a command needs."""


def validate_stack_name(stack: str) -> str:
    """Stack names become QuickSight resource ids and paths: letters, digits, '-' and '_' only."""
    if not _STACK_NAME.match(stack):
        raise StackError(
            f"stack name {stack!r} must be 1-64 letters, digits, '-' or '_' (starting with a letter/digit)"
        )
    return stack


def resolve_bucket(stack: str, bucket: str | None, state_dir: Path = DEFAULT_STATE_DIR) -> str:
    """--bucket when given, else `dataBucket` from .devstate/<stack>/outputs.json."""
    validate_stack_name(stack)
    if bucket:
        return bucket
    outputs = state_dir / stack / "outputs.json"
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


def s3_client(endpoint_url: str | None = None, region: str | None = None, *, pool_size: int = 32) -> S3Client:
    """An S3 client sized for the reader's thread pool; endpoint None = boto3's own (AWS_ENDPOINT_URL or AWS)."""
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region or session.region_name or DEFAULT_REGION,
        config=Config(max_pool_connections=pool_size, retries={"mode": "standard"}),
    )
