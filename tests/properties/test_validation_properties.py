"""Hypothesis: the handlers accept exactly the inputs the documented rules allow (tests/properties/oracle.py)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.properties import oracle
from tests.support import ROOT, Api

PROPERTY_SETTINGS = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ABSENT = object()  # a field left out of the body


class RawNumber(str):
    """A JSON number literal, written into the body as is (so 1e2 or 30.500 reach the parser unchanged)."""


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def to_json(body: dict[str, Any]) -> str:
    """JSON text of `body`, with RawNumber values as number literals."""
    numbers: dict[str, str] = {}

    def encode(value: Any) -> Any:
        if isinstance(value, RawNumber):
            marker = f"@@number{len(numbers)}@@"
            numbers[marker] = str(value)
            return marker
        return value

    text = json.dumps({k: encode(v) for k, v in body.items()}, ensure_ascii=False)
    for marker, literal in numbers.items():
        text = text.replace(json.dumps(marker), literal)
    return text


def as_parsed(value: Any) -> Any:
    """What the JSON parser hands the validator for one value (numbers as Decimal)."""
    if isinstance(value, RawNumber) or (isinstance(value, int) and not isinstance(value, bool)):
        return Decimal(str(value))
    return value


# --- generators: valid values, near misses and wrong types for each field ------------------------------------
SPACES = st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0", "\u2003"])
WRONG_TYPES: st.SearchStrategy[Any] = st.one_of(
    st.integers(-5, 5), st.booleans(), st.lists(st.integers(), max_size=2), st.just({})
)


def padded(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(SPACES, inner, SPACES).map("".join)


def json_number() -> st.SearchStrategy[RawNumber]:
    sign = st.sampled_from(["", "", "", "-"])
    whole = st.one_of(
        st.sampled_from(["0", "1", "5", "999999999", "1000000000", "1000000001"]),
        st.from_regex(r"[1-9][0-9]{0,10}", fullmatch=True),
    )
    fraction = st.one_of(
        st.just(""),
        st.from_regex(r"\.[0-9]{1,6}", fullmatch=True),
        st.sampled_from([".5", ".50", ".500", ".05", ".001", ".0000"]),
    )
    exponent = st.one_of(st.just(""), st.from_regex(r"[eE][+-]?[0-9]{1,2}", fullmatch=True))
    return st.tuples(sign, whole, fraction, exponent).map(lambda parts: RawNumber("".join(parts)))


def amount_text() -> st.SearchStrategy[str]:
    digits = st.one_of(
        st.from_regex(r"[0-9]{1,12}(\.[0-9]{1,5})?", fullmatch=True),
        st.sampled_from(["0", "0.00", "30.5", "30.50", "30.500", "30.505", "1000000000", "1000000000.01", "007"]),
        st.sampled_from(["1e3", "-5", "+5", "1,000", "5.", ".5", "NaN", "Infinity", "0x10", "٣", "12 34", ""]),
        st.from_regex(r"[0-9]{13,17}", fullmatch=True),
    )
    return padded(digits)


def text_field(max_len: int) -> st.SearchStrategy[str]:
    chars = st.characters(codec="utf-8", exclude_categories=["Cs"])
    return st.one_of(
        st.text(chars, max_size=8),
        padded(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=6)),
        st.sampled_from(["Food", "  Rent ", "", "   ", "a\u0000b", "line\nbreak", "tab\there", "e\u0301", "<b>x</b>"]),
        st.integers(max_len - 2, max_len + 2).map(lambda n: "x" * n),
        st.integers(max_len - 1, max_len + 1).map(lambda n: "e\u0301" * n),  # NFC halves the length
    )


def date_text() -> st.SearchStrategy[str]:
    now = today()
    return st.one_of(
        st.dates(dt.date(1960, 1, 1), now + dt.timedelta(days=400)).map(dt.date.isoformat),
        st.sampled_from(
            [
                "1970-01-01", "1969-12-31", (now + dt.timedelta(days=366)).isoformat(),
                (now + dt.timedelta(days=367)).isoformat(), "2024-02-29", "2023-02-29", "2024-13-01",
                "2024-1-1", "20240101", "2024/01/01", "2024-01-01T00:00:00", "",
                "\u0662\u0660\u0662\u0664-\u0660\u0661-\u0660\u0661",  # Arabic-Indic digits
            ]
        ),
        padded(st.just("2024-05-06")),
    )  # fmt: skip


def account_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,33}", fullmatch=True),
        st.sampled_from(["", " ", "main", "MAIN", " household ", "-lead", "_x", "a b", "a.b", "é", "x" * 32, "x" * 33]),
    )


def currency_text() -> st.SearchStrategy[str]:
    codes = st.sampled_from(sorted(oracle.MINOR_UNITS))
    return st.one_of(codes, codes.map(str.lower), padded(codes), st.sampled_from(oracle.NOT_CURRENCIES))


def user_id_value(username: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([username, username.upper(), f" {username} ", "someone-else", "", "*"]),
        st.integers(0, 3),
    )


def valid_values() -> dict[str, st.SearchStrategy[Any]]:
    """Values each field accepts on its own (the body may still be refused: JPY with cents, say)."""
    now = today()
    amounts = st.decimals(Decimal("0.01"), Decimal(1_000_000_000), places=2)
    return {
        "amount": st.one_of(amounts.map(str), amounts.map(lambda d: RawNumber(str(d)))),
        "currency": st.sampled_from(sorted(oracle.MINOR_UNITS)),
        "category": st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=50).filter(str.strip),
        "description": st.text(st.characters(exclude_categories=["Cc", "Cs"], include_characters="\n\t"), max_size=80),
        "date": st.dates(dt.date(1970, 1, 1), now + dt.timedelta(days=366)).map(dt.date.isoformat),
        "account": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", fullmatch=True),
    }


def noisy_values() -> dict[str, st.SearchStrategy[Any]]:
    """Near misses, odd spellings and boundaries for each field."""
    return {
        "amount": st.one_of(json_number(), amount_text()),
        "currency": currency_text(),
        "category": text_field(50),
        "description": text_field(500),
        "date": date_text(),
        "account": account_text(),
    }


@st.composite
def expense_bodies(draw: st.DrawFn, username: str) -> dict[str, Any]:
    """Mostly valid fields (about a fifth of the bodies pass), else noise, null, absent or a wrong type."""
    valid, noisy = valid_values(), noisy_values()
    body: dict[str, Any] = {}
    for name in ("amount", "currency", "category", "description", "date", "account"):
        kind = draw(st.sampled_from(["valid"] * 8 + ["noisy"] * 2 + ["absent", "null", "wrong type"]))
        if kind == "valid" or (kind == "absent" and name in ("amount", "category") and draw(st.booleans())):
            body[name] = draw(valid[name])
        elif kind == "noisy":
            body[name] = draw(noisy[name])
        elif kind == "null":
            body[name] = None
        elif kind == "wrong type":
            body[name] = draw(WRONG_TYPES)
    if draw(st.integers(0, 3)) == 0:
        body["userId"] = draw(user_id_value(username))
    if draw(st.integers(0, 9)) == 0:
        body[draw(st.sampled_from(["ownerId", "expenseId", "Amount", "extra"]))] = "x"
    return body


# --- properties ----------------------------------------------------------------------------------------------
@PROPERTY_SETTINGS
@given(data=st.data())
@example(data=None)  # the plainest valid body first
def test_post_accepts_exactly_what_the_rules_allow(aws_stack: dict[str, Any], data: Any) -> None:
    username = f"user-{uuid.uuid4().hex[:8]}"
    body = {"amount": "12.50", "category": "Food"} if data is None else data.draw(expense_bodies(username))
    verdict = oracle.expense_verdict({k: as_parsed(v) for k, v in body.items()}, username, today())
    status, answer, _ = Api(username).call("POST", "/expenses", raw_body=to_json(body))
    event(f"POST {status}")
    assert status in verdict.statuses, (body, verdict.reasons, answer)
    if verdict.accepted:
        stored = answer["expense"]
        assert Decimal(str(stored["amount"])) == verdict.values["amount"]
        for name in ("currency", "category", "description", "date", "account"):
            assert stored[name] == verdict.values[name], name
        assert stored["userId"] == username
    else:
        assert set(answer) == {"error"} and answer["error"]


@PROPERTY_SETTINGS
@given(data=st.data())
def test_put_validates_like_post(aws_stack: dict[str, Any], data: Any) -> None:
    username = f"user-{uuid.uuid4().hex[:8]}"
    api = Api(username)
    expense_id = api.add()["expenseId"]
    body = data.draw(expense_bodies(username))
    verdict = oracle.expense_verdict({k: as_parsed(v) for k, v in body.items()}, username, today())
    path = {"expenseId": expense_id}
    status, answer, _ = api.call("PUT", "/expenses/{expenseId}", path_params=path, raw_body=to_json(body))
    assert status in ({200} if verdict.accepted else verdict.statuses), (body, verdict.reasons, answer)
    after = api.call("GET", "/expenses/{expenseId}", path_params=path)[1]["expense"]
    if verdict.accepted:
        assert after["category"] == verdict.values["category"]
        assert Decimal(str(after["amount"])) == verdict.values["amount"]
    else:
        assert after["category"] == "Food" and after["amount"] == 12.5  # a refused edit changes nothing


@st.composite
def list_queries(draw: st.DrawFn, username: str) -> dict[str, str]:
    limit = st.one_of(
        st.integers(-2, 130).map(str),
        st.sampled_from(
            ["", " 5", "5 ", "+5", "5.0", "1e1", "007", "0", "ten", "\u00b2", "\u0663", "\uff11\uff10", "1000"]
        ),
    )
    options: dict[str, st.SearchStrategy[str]] = {
        "limit": limit,
        "from": date_text(),
        "to": date_text(),
        "category": text_field(50),
        "account": account_text(),
        "userId": user_id_value(username).map(str),
        "color": st.just("blue"),  # unknown parameters are ignored
    }
    chosen = draw(st.sets(st.sampled_from(sorted(options)), max_size=4))
    return {name: draw(options[name]) for name in sorted(chosen)}


@PROPERTY_SETTINGS
@given(data=st.data())
def test_list_query_accepts_exactly_what_the_rules_allow(aws_stack: dict[str, Any], data: Any) -> None:
    username = f"user-{uuid.uuid4().hex[:8]}"
    query = data.draw(list_queries(username))
    verdict = oracle.list_query_verdict(query, username, today())
    status, answer, _ = Api(username).call("GET", "/expenses", query=query)
    event(f"GET {status}")
    assert status in verdict.statuses, (query, verdict.reasons, answer)
    if not verdict.accepted:
        assert set(answer) == {"error"}


@pytest.mark.parametrize("limit", ["\u00b2", "\u0663", "1e1", "0x10", "\uff11\uff10"])
def test_limit_accepts_only_ascii_digits(aws_stack: dict[str, Any], limit: str) -> None:
    status, answer, _ = Api("alice").call("GET", "/expenses", query={"limit": limit})
    assert status == 400, answer


def test_oracle_knows_the_documented_examples() -> None:
    """The oracle itself, on the examples the contract and the modules spell out."""
    day = dt.date(2026, 1, 15)
    ok = oracle.expense_verdict({"amount": "30.5", "category": "Food"}, "alice", day)
    assert ok.accepted and ok.values["currency"] == "USD" and ok.values["date"] == "2026-01-15"
    assert ok.values["account"] == "main"
    assert oracle.expense_verdict(
        {"amount": Decimal("30.5"), "category": "x", "currency": "jpy"}, "a", day
    ).statuses == {400}
    assert oracle.expense_verdict({"amount": Decimal("1.234"), "category": "x", "currency": "KWD"}, "a", day).accepted
    assert oracle.expense_verdict({"amount": "5", "category": "x", "userId": "bob"}, "alice", day).statuses == {403}
    assert oracle.expense_verdict({"amount": "5", "category": "x", "userId": "ALICE"}, "alice", day).accepted
    assert oracle.expense_verdict({"amount": True, "category": "x"}, "a", day).statuses == {400}
    assert oracle.decimal_places(Decimal("30.500")) == 1
    assert oracle.list_query_verdict({"from": "2026-02-01", "to": "2026-01-01"}, "a", day).statuses == {400}


# --- accepted inputs against the contract ---------------------------------------------------------------------
def contract_errors(body: dict[str, Any]) -> list[str]:
    """Why `body` is not a valid ExpenseInput of api/openapi.yaml (OpenAPI 3.0 schemas are draft-4 style)."""
    import jsonschema
    import yaml

    contract = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
    schema = contract["components"]["schemas"]["ExpenseInput"]
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    return [error.message for error in validator.iter_errors(body)]


OUTSIDE_THE_CONTRACT = [
    ("currency with spaces", {"currency": " usd "}),
    ("empty account", {"account": ""}),
    ("account with spaces", {"account": " Household "}),
    ("account with the Kelvin sign", {"account": "\u212a"}),
    ("amount with 13 digits", {"amount": "0000000000012.50"}),
    ("amount with 4 decimals", {"amount": "12.5000"}),
    ("date with spaces", {"date": " 2024-05-06 "}),
    ("null currency", {"currency": None}),
]


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({}, id="plain body"),
        pytest.param({"currency": "jpy", "amount": "1200", "account": "Trip-2024"}, id="case is free"),
        *(pytest.param(fields, id=case) for case, fields in OUTSIDE_THE_CONTRACT),
    ],
)
def test_every_accepted_body_is_a_valid_expense_input(aws_stack: dict[str, Any], fields: dict[str, Any]) -> None:
    body = {"amount": "12.50", "category": "Food", **fields}
    status, answer, _ = Api("alice").call("POST", "/expenses", body=body)
    assert status in (201, 400), answer
    assert status != 201 or contract_errors(body) == [], (answer, contract_errors(body))
