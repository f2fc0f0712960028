"""Environment variable names and the settings read from them, in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from kit.cors import ENV_ALLOW_ORIGIN

# Environment variable names (bootstrap sets them on every function; the dev server does the same locally).
ENV_TABLE = "EXPENSES_TABLE"
ENV_BUCKET = "DATA_BUCKET"
ENV_DEFAULT_CURRENCY = "DEFAULT_CURRENCY"
ENV_PAGE_TOKEN_SECRET = "PAGE_TOKEN_SECRET"  # noqa: S105 - the variable's name, not a secret
ENV_IDEMPOTENCY_TTL = "IDEMPOTENCY_TTL_SECONDS"
ENV_CORS_ALLOW_ORIGIN = ENV_ALLOW_ORIGIN  # kit.cors reads the same variable for the handler's CORS headers
ENV_LOG_LEVEL = "LOG_LEVEL"
ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"  # boto3's own setting, honoured by kit.clients
# botocore's per-service endpoint settings, which win over AWS_ENDPOINT_URL (the dev server serves DynamoDB from
# DynamoDB Local and S3 from moto). An explicit endpoint_url would override them, so the functions resolve them
# here, in botocore's order, and pass the result.
ENV_DYNAMODB_ENDPOINT_URL = "AWS_ENDPOINT_URL_DYNAMODB"
ENV_S3_ENDPOINT_URL = "AWS_ENDPOINT_URL_S3"
SERVICE_ENDPOINT_ENV = {"dynamodb": ENV_DYNAMODB_ENDPOINT_URL, "s3": ENV_S3_ENDPOINT_URL}

DEFAULT_TABLE = "Expenses"
DEFAULT_BUCKET = "expense-tracker-data"
DEFAULT_CURRENCY = "USD"
# Only for local use; bootstrap generates a random secret per stack. Logged as a warning when used.
DEV_ONLY_PAGE_TOKEN_SECRET = "dev-only-page-token-secret"  # noqa: S105
DEFAULT_IDEMPOTENCY_TTL = 24 * 3600


@dataclass(frozen=True)
class Settings:
    """What a function needs to know about its stack; read from the environment at each invocation."""

    table_name: str = DEFAULT_TABLE
    bucket_name: str = DEFAULT_BUCKET
    default_currency: str = DEFAULT_CURRENCY
    page_token_secret: str = DEV_ONLY_PAGE_TOKEN_SECRET
    idempotency_ttl: int = DEFAULT_IDEMPOTENCY_TTL
    cors_allow_origin: str = "*"
    endpoint_url: str | None = None
    dynamodb_endpoint_url: str | None = None  # AWS_ENDPOINT_URL_DYNAMODB, else endpoint_url
    s3_endpoint_url: str | None = None  # AWS_ENDPOINT_URL_S3, else endpoint_url

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings in `env` (default: this process's environment, as a Lambda function has it)."""
        env = os.environ if env is None else env
        ttl = env.get(ENV_IDEMPOTENCY_TTL, "")
        endpoint = env.get(ENV_ENDPOINT_URL) or None
        return cls(
            table_name=env.get(ENV_TABLE) or DEFAULT_TABLE,
            bucket_name=env.get(ENV_BUCKET) or DEFAULT_BUCKET,
            default_currency=(env.get(ENV_DEFAULT_CURRENCY) or DEFAULT_CURRENCY).upper(),
            page_token_secret=env.get(ENV_PAGE_TOKEN_SECRET) or DEV_ONLY_PAGE_TOKEN_SECRET,
            idempotency_ttl=int(ttl) if ttl.isascii() and ttl.isdigit() else DEFAULT_IDEMPOTENCY_TTL,
            cors_allow_origin=env.get(ENV_CORS_ALLOW_ORIGIN) or "*",
            endpoint_url=endpoint,
            dynamodb_endpoint_url=env.get(ENV_DYNAMODB_ENDPOINT_URL) or endpoint,
            s3_endpoint_url=env.get(ENV_S3_ENDPOINT_URL) or endpoint,
        )
