"""ISO 4217 currencies and their minor-unit digits, and the parsing of amounts into exact Decimals."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from expense_core.errors import ValidationError

# ISO 4217 active codes with their minor units (exponent). Codes not listed default to 2 digits.
_MINOR_UNITS_EXCEPTIONS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip
CURRENCIES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
    CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD
    HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL
    LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
    PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP
    TRY TTD TWD TZS UAH UGX USD UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG
    """.split()
)
MAX_AMOUNT = Decimal("1000000000")  # one billion in any currency: a sane upper bound for a personal expense
# As api/openapi.yaml's ExpenseInput.amount (string form): ASCII digits, at most 10 before and 3 after the point.
_AMOUNT_TEXT = re.compile(r"[0-9]{1,10}(\.[0-9]{1,3})?")
_CURRENCY_TEXT = re.compile(r"[A-Za-z]{3}")


def minor_units(currency: str) -> int:
    """How many digits after the decimal point `currency` allows (USD 2, JPY 0, KWD 3)."""
    return _MINOR_UNITS_EXCEPTIONS.get(currency, 2)


def parse_currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY_TEXT.fullmatch(value) or value.upper() not in CURRENCIES:
        raise ValidationError("currency must be an ISO 4217 code such as USD or EUR")
    return value.upper()


def parse_amount(value: object, currency: str) -> Decimal:
    """An exact, positive, bounded amount with at most the currency's minor-unit digits."""
    # bool is an int in Python, and JSON true must not become 1.
    if isinstance(value, bool) or value is None:
        raise ValidationError('amount must be a number such as 30.5 or a string such as "30.50"')
    if isinstance(value, str):
        text = value.strip()
        if not _AMOUNT_TEXT.fullmatch(text):
            raise ValidationError('amount must be a plain decimal number such as "30.50"')
        amount = Decimal(text)
    elif isinstance(value, int | Decimal):
        amount = Decimal(value)
    else:
        raise ValidationError('amount must be a number such as 30.5 or a string such as "30.50"')
    if not amount.is_finite():
        raise ValidationError("amount must be a finite number")
    if amount <= 0:
        raise ValidationError("amount must be greater than zero")
    if amount > MAX_AMOUNT:
        raise ValidationError(f"amount must be at most {MAX_AMOUNT:,}")
    digits = minor_units(currency)
    quantum = Decimal(1).scaleb(-digits)
    try:
        exact = amount.quantize(quantum)
    except InvalidOperation as e:  # pragma: no cover - bounded above, so quantize cannot overflow
        raise ValidationError("amount is not a valid number") from e
    if exact != amount:
        raise ValidationError(f"amount has more than {digits} decimal places allowed for {currency}")
    return exact
