"""The composition root: the one place that builds an ExpenseService from Settings, for the handlers, the demo
seeding and reconciliation alike."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from expense_core import service as service_module
from expense_core.compaction import Compactor
from expense_core.config import DEV_ONLY_PAGE_TOKEN_SECRET, Settings
from expense_core.lake import ExpenseLake
from expense_core.pagination import PageTokenCodec
from expense_core.repository import ExpenseRepository
from expense_core.service import Clock, ExpenseService
from kit import clients

logger = logging.getLogger("expense_core")


def endpoints_of(settings: Settings) -> clients.Endpoints | None:
    """The endpoints the settings name, per service first (None: boto3's own resolution, i.e. AWS)."""
    services = {
        name: url
        for name, url in (("dynamodb", settings.dynamodb_endpoint_url), ("s3", settings.s3_endpoint_url))
        if url and url != settings.endpoint_url
    }
    if not settings.endpoint_url and not services:
        return None
    return clients.Endpoints.of(settings.endpoint_url, services)


def handler_client(service: str, settings: Settings, region: str | None = None) -> Any:
    """The cached client a function uses for `service`: kit.clients with the handler's retry policy."""
    return clients.client(service, role=clients.Role.HANDLER, endpoints=endpoints_of(settings), region=region)


def build_service(settings: Settings, clock: Clock | None = None, region: str | None = None) -> ExpenseService:
    """The service for one stack's settings: its table, lake, page-token secret, default currency and TTL."""
    if settings.page_token_secret == DEV_ONLY_PAGE_TOKEN_SECRET:
        logger.warning("PAGE_TOKEN_SECRET is not set: using the dev-only secret")
    return ExpenseService(
        ExpenseRepository(handler_client("dynamodb", settings, region), settings.table_name),
        ExpenseLake(handler_client("s3", settings, region), settings.bucket_name),
        PageTokenCodec(settings.page_token_secret),
        default_currency=settings.default_currency,
        idempotency_ttl=settings.idempotency_ttl,
        clock=clock if clock is not None else service_module.utc_now,
    )


def build_compactor(settings: Settings, shards: int, region: str | None = None) -> Compactor:
    """The compaction function's Compactor for the stack's data bucket."""
    return Compactor(handler_client("s3", settings, region), settings.bucket_name, shards=shards)


class Services:
    """A warm container's services: one per Settings, built at the first request (never at import), reused while
    warm. A Lambda container sees one configuration; the dev server and the tests a few, so at most `size` are kept
    (least recently used first out) and nobody has to clear this by hand."""

    def __init__(self, build: Callable[[Settings], ExpenseService] = build_service, size: int = 8) -> None:
        self._build = build
        self._size = size
        self._lock = threading.Lock()
        self._services: OrderedDict[Settings, ExpenseService] = OrderedDict()

    def for_settings(self, settings: Settings) -> ExpenseService:
        with self._lock:
            found = self._services.get(settings)
            if found is not None:
                self._services.move_to_end(settings)
                return found
        built = self._build(settings)  # no lock held while building (it may create clients)
        with self._lock:
            found = self._services.setdefault(settings, built)
            self._services.move_to_end(settings)
            while len(self._services) > self._size:
                self._services.popitem(last=False)
        return found
