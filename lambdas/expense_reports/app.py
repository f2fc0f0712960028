"""ExpenseReportsFunction: GET /expenses/summary and GET /expenses/export (CSV)."""

from typing import Any

from expense_core import routes
from expense_core.http import Resolver

resolver = Resolver({("GET", "/expenses/summary"): routes.summary, ("GET", "/expenses/export"): routes.export})


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolver.resolve(event, context)
