"""`--demo`: a demo user and a few months of realistic expenses, so the app and the dashboard have something to show."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from devserver.cognito import LocalCognito
from devserver.cognito.errors import UsernameExists
from expense_core.composition import build_service
from expense_core.config import Settings
from expense_core.identity import Caller
from expense_core.validation import ExpenseInput, ListQuery
from kit import clients

log = logging.getLogger("devserver")
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "Demo123!"  # noqa: S105 - a documented local-only demo account
DEMO_EMAIL = "demo@example.com"
MONTHS = 4
# (category, typical amount range, descriptions, times per month, account)
_PATTERNS: list[tuple[str, tuple[int, int], list[str], int, str]] = [
    ("Groceries", (18, 120), ["Supermarket", "Farmers market", "Bakery"], 7, "main"),
    ("Food", (4, 45), ["Coffee", "Lunch with team", "Pizza night", "Sushi"], 8, "main"),
    ("Transport", (3, 60), ["Metro card top-up", "Taxi home", "Fuel"], 5, "main"),
    ("Rent", (1450, 1450), ["Monthly rent"], 1, "household"),
    ("Utilities", (40, 140), ["Electricity", "Internet", "Water"], 2, "household"),
    ("Entertainment", (9, 80), ["Cinema", "Concert tickets", "Streaming subscription"], 3, "main"),
    ("Health", (12, 90), ["Pharmacy", "Gym membership"], 2, "main"),
]


def demo_expenses(today: dt.date, seed: int = 7) -> list[ExpenseInput]:
    """A deterministic, plausible history: the last MONTHS months up to today."""
    rng = random.Random(seed)  # sample data, not security
    out: list[ExpenseInput] = []
    start = (today.replace(day=1) - dt.timedelta(days=31 * (MONTHS - 1))).replace(day=1)
    month = start
    while month <= today:
        days_in_month = ((month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)).day
        for category, (low, high), descriptions, times, account in _PATTERNS:
            for _ in range(times):
                day = month.replace(day=1 if category == "Rent" else rng.randint(1, days_in_month))
                if day > today:
                    continue
                cents = rng.randint(low * 100, high * 100)
                out.append(
                    ExpenseInput(
                        amount=Decimal(cents).scaleb(-2),
                        currency="USD",
                        category=category,
                        description=rng.choice(descriptions),
                        date=day.isoformat(),
                        account=account,
                    )
                )
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def seed_demo(
    cognito: LocalCognito,
    outputs: dict[str, Any],
    endpoint_url: str,
    region: str,
    service_endpoints: Mapping[str, str] | None = None,
) -> None:
    """Create the demo user (once) and its expenses (only when it has none), through the real service.

    `service_endpoints` name the services served elsewhere than `endpoint_url` (DynamoDB Local for DynamoDB).
    """
    service_endpoints = service_endpoints or {}
    pool_id = str(outputs["userPoolId"])
    try:
        sub = cognito.create_confirmed_user(pool_id, DEMO_USERNAME, DEMO_PASSWORD, DEMO_EMAIL)
    except UsernameExists:
        idp = clients.client(
            "cognito-idp", role=clients.Role.EMULATOR, endpoints=clients.Endpoints.of(endpoint_url), region=region
        )
        user = idp.admin_get_user(UserPoolId=pool_id, Username=DEMO_USERNAME)
        sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    env = next(iter(outputs["functionEnvironment"].values()))
    # The functions' own settings (table, bucket, secret, DEFAULT_CURRENCY, TTL), wired as the handlers wire them.
    settings = dataclasses.replace(
        Settings.from_env(env),
        endpoint_url=endpoint_url,
        dynamodb_endpoint_url=service_endpoints.get("dynamodb", endpoint_url),
        s3_endpoint_url=service_endpoints.get("s3", endpoint_url),
    )
    service = build_service(settings, region=region)
    caller = Caller(sub=sub, username=DEMO_USERNAME)
    if any(
        service.list(caller, ListQuery(account=acct, date_from=None, date_to=None, limit=1))["expenses"]
        for acct in ("main", "household")
    ):
        log.info("demo user already has expenses; nothing seeded")
        return
    expenses = demo_expenses(service.today())
    for data in expenses:
        service.add(caller, data)
    print(
        f"[demo] user '{DEMO_USERNAME}' / password '{DEMO_PASSWORD}' with {len(expenses)} sample expenses", flush=True
    )
