"""UpdateExpenseFunction: PUT /expenses/{expenseId}."""

from typing import Any

from expense_core import routes
from expense_core.http import Resolver

resolver = Resolver({("PUT", "/expenses/{expenseId}"): routes.update_expense})


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolver.resolve(event, context)
