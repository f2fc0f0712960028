"""GetExpenseFunction: GET /expenses (paginated list) and GET /expenses/{expenseId}."""

from typing import Any

from expense_core import routes
from expense_core.http import Resolver

resolver = Resolver({("GET", "/expenses"): routes.list_expenses, ("GET", "/expenses/{expenseId}"): routes.get_expense})


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolver.resolve(event, context)
