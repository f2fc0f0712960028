"""One composition root builds the service from Settings, for the handlers, the demo seeding and reconciliation."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from devserver import demo
from expense_core import composition, reconcile
from expense_core.config import Settings
from expense_core.http import Resolver
from expense_core.service import ExpenseService
from tests.support import Api, lake_objects, table_items


def test_build_service_takes_every_setting(aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_CURRENCY", "eur")
    monkeypatch.setenv("IDEMPOTENCY_TTL_SECONDS", "7200")
    settings = Settings.from_env()
    svc = composition.build_service(settings)
    assert svc.default_currency == "EUR" and svc.idempotency_ttl == 7200
    assert svc.repository._table == aws_stack["table"] and svc.lake._bucket == aws_stack["bucket"]
    # The handlers' own cached clients, with the handler retry policy of kit.clients.
    assert svc.repository._client is composition.handler_client("dynamodb", settings)
    assert svc.lake._client is composition.handler_client("s3", settings)
    assert svc.repository._client.meta.config.retries["total_max_attempts"] == 5


def test_the_services_cache_is_per_settings_bounded_and_owned_by_its_resolver() -> None:
    built: list[Settings] = []

    def build(settings: Settings) -> ExpenseService:
        built.append(settings)
        return object()  # type: ignore[return-value]

    services = composition.Services(build, size=2)
    a, b, c = (Settings(table_name=name) for name in "abc")
    first = services.for_settings(a)
    assert services.for_settings(a) is first and built == [a]  # reused while warm
    services.for_settings(b)
    services.for_settings(c)  # evicts a, the least recently used
    assert services.for_settings(a) is not first and built == [a, b, c, a]
    assert Resolver({}).services is not Resolver({}).services  # no module-global cache to clear by hand


def test_the_handlers_honour_default_currency_from_the_environment(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_CURRENCY", "CHF")
    assert Api("alice").add()["currency"] == "CHF"


class FakeCognito:
    def create_confirmed_user(self, pool_id: str, username: str, password: str, email: str) -> str:
        return "demo-sub"


def test_demo_seeding_is_wired_by_the_composition_root(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo used to wire the service by hand, ignoring DEFAULT_CURRENCY and the idempotency TTL."""
    seen: list[tuple[Settings, str | None]] = []

    def build(settings: Settings, clock: Any = None, region: str | None = None) -> ExpenseService:
        seen.append((settings, region))
        # in-process moto serves the test stack in us-east-1 without an endpoint
        return composition.build_service(
            dataclasses.replace(settings, endpoint_url=None, dynamodb_endpoint_url=None, s3_endpoint_url=None)
        )

    monkeypatch.setattr(demo, "build_service", build)
    env = {
        "EXPENSES_TABLE": aws_stack["table"], "DATA_BUCKET": aws_stack["bucket"], "PAGE_TOKEN_SECRET": "s",
        "DEFAULT_CURRENCY": "EUR", "IDEMPOTENCY_TTL_SECONDS": "600",
    }  # fmt: skip
    outputs = {"userPoolId": "pool", "functionEnvironment": {"add_expense": env}}
    demo.seed_demo(FakeCognito(), outputs, "http://127.0.0.1:4566", "eu-west-1")  # type: ignore[arg-type]
    [(settings, region)] = seen
    assert (settings.default_currency, settings.idempotency_ttl, settings.page_token_secret) == ("EUR", 600, "s")
    assert settings.endpoint_url == "http://127.0.0.1:4566" and region == "eu-west-1"
    items = table_items(aws_stack)
    assert items and {i["ownerId"] for i in items} == {"demo-sub"}
    assert len(lake_objects(aws_stack)) == len(items)


def test_reconcile_is_wired_by_the_composition_root(
    aws_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    Api("alice").add()
    aws_stack["s3"].put_object(Bucket=aws_stack["bucket"], Key="expenses/ghost/x.json", Body=b"{}")
    assert reconcile.main(["--table", aws_stack["table"], "--bucket", aws_stack["bucket"], "--dry-run"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["checked"] == 1 and report["deleted"] == ["expenses/ghost/x.json"] and report["dryRun"]
