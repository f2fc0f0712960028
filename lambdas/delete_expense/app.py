"""DeleteExpenseFunction: DELETE /expenses/{expenseId}."""

from typing import Any

from expense_core import routes
from expense_core.http import Resolver

resolver = Resolver({("DELETE", "/expenses/{expenseId}"): routes.delete_expense})


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolver.resolve(event, context)
