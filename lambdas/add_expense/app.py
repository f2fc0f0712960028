"""AddExpenseFunction: POST /expenses (idempotent with Idempotency-Key)."""

from typing import Any

from expense_core import routes
from expense_core.http import Resolver

resolver = Resolver({("POST", "/expenses"): routes.add_expense})


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolver.resolve(event, context)
