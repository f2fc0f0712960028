"""The API's routes as small functions over the service; each Lambda function registers the ones it serves."""

from __future__ import annotations

import json
import re

from expense_core.errors import ValidationError
from expense_core.http import Request, Response
from expense_core.validation import (
    ExpenseInput,
    ListQuery,
    header,
    parse_expense_input,
    parse_json_body,
    parse_list_query,
)

_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# for parity: Lambda refuses a synchronous response over 6 MB (6,291,556 bytes), which API Gateway turns into a 502
# (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). The export is bounded below that,
# counting the CSV as the result's JSON string (escapes included) and leaving room for the rest of the result.
EXPORT_MAX_BYTES = 6_000_000


def _idempotency_key(request: Request) -> str | None:
    value = header(request.event, "Idempotency-Key")
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise ValidationError("Idempotency-Key must be 1-128 characters of letters, digits, '.', '_', ':' or '-'")
    return value


def _body_input(request: Request) -> ExpenseInput:
    body = parse_json_body(request.event)
    request.caller.check_user_id(body.get("userId"))
    return parse_expense_input(body, request.service.default_currency, request.service.today())


def add_expense(request: Request) -> Response:
    """POST /expenses -> 201."""
    key = _idempotency_key(request)
    data = _body_input(request)
    expense = request.service.add(request.caller, data, key)
    return Response(201, {"expense": expense, "message": "Expense added successfully"})


def _list_query(request: Request, *, paged: bool) -> ListQuery:
    request.caller.check_user_id(request.query.get("userId"))
    return parse_list_query(request.query, request.service.today(), paged=paged)


def list_expenses(request: Request) -> Response:
    """GET /expenses -> one page, newest first."""
    return Response(200, request.service.list(request.caller, _list_query(request, paged=True)))


def get_expense(request: Request) -> Response:
    """GET /expenses/{expenseId}."""
    return Response(200, {"expense": request.service.get(request.caller, request.path_param("expenseId"))})


def update_expense(request: Request) -> Response:
    """PUT /expenses/{expenseId}: same validation as POST."""
    expense_id = request.path_param("expenseId")
    data = _body_input(request)
    expense = request.service.update(request.caller, expense_id, data)
    return Response(200, {"expense": expense, "message": "Expense updated successfully"})


def delete_expense(request: Request) -> Response:
    """DELETE /expenses/{expenseId}."""
    expense_id = request.path_param("expenseId")
    request.service.delete(request.caller, expense_id)
    return Response(200, {"message": "Expense deleted successfully", "expenseId": expense_id})


def summary(request: Request) -> Response:
    """GET /expenses/summary."""
    return Response(200, request.service.summary(request.caller, _list_query(request, paged=False)))


def export(request: Request) -> Response:
    """GET /expenses/export -> text/csv with a header row."""
    query = _list_query(request, paged=False)
    text = request.service.export_csv(request.caller, query)
    size = len(json.dumps(text))
    if size > EXPORT_MAX_BYTES:
        raise ValidationError(
            f"the export is {size} bytes, over the {EXPORT_MAX_BYTES}-byte limit of one response: "
            "narrow it with from/to (or category/account) and export in parts"
        )
    name = f"expenses-{query.account}-{query.date_from or 'all'}-{query.date_to or 'all'}.csv"
    return Response(
        200,
        text,
        {"Content-Disposition": f'attachment; filename="{name}"'},
        content_type="text/csv; charset=utf-8",
    )
