"""Input checked the way AWS checks it, before moto sees it: usernames, new passwords, emails and attributes.

moto accepts (or crashes on) what AWS refuses: `email=bad-email` made moto fail half-way through SignUp and left
an unconfirmed ghost user. Every refusal here is AWS's InvalidParameterException with AWS's own wording.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from devserver.cognito import errors

# for parity: UsernameType in the Cognito API reference: "Pattern: [\p{L}\p{M}\p{S}\p{N}\p{P}]+", length 1-128.
USERNAME_PATTERN = r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+"
MAX_USERNAME = 128
_ALLOWED_CATEGORIES = frozenset("LMSNP")
# for parity: PasswordType: "Pattern: ^[\S]+.*[\S]+$", at most 256 (SignUp, ConfirmForgotPassword,
# AdminSetUserPassword, ChangePassword ProposedPassword in the Cognito API reference): a password may hold a
# space, but cannot begin or end with one ("Password requirements", Cognito developer guide).
PASSWORD_PATTERN = r"^[\S]+.*[\S]+$"  # noqa: S105 - a pattern, not a password
_PASSWORD = re.compile(r"^\S(.*\S)?$", re.DOTALL)
MAX_PASSWORD = 256
# for parity: the standard attributes every user pool has ("Standard attributes", Cognito developer guide), and
# the two verified flags.
STANDARD_ATTRIBUTES = frozenset(
    "address birthdate email family_name gender given_name locale middle_name name nickname phone_number picture "
    "preferred_username profile zoneinfo updated_at website".split()
)
VERIFIED_FLAGS = {"email_verified": "email", "phone_number_verified": "phone_number"}
# for parity: AttributeType: Name at most 32 characters, Value at most 2048 (Cognito API reference).
MAX_ATTRIBUTE_NAME = 32
MAX_ATTRIBUTE_VALUE = 2048
# for parity: "Invalid email address format." is AWS's InvalidParameterException for a malformed email attribute
# (the network answer captured in aws-amplify/amplify-js#5313: {__type: "InvalidParameterException", message: ...}).
INVALID_EMAIL = "Invalid email address format."
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def _constraint(member: str, constraint: str) -> errors.InvalidParameter:
    # for parity: the wording of AWS's input validation ("1 validation error detected: Value at 'username'
    # failed to satisfy constraint: Member must ...").
    return errors.InvalidParameter(
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: {constraint}"
    )


def check_username(value: str, member: str = "username") -> None:
    """Refuse a username outside AWS's pattern or longer than 128 characters (a newline, a NUL, a tab...)."""
    if len(value) > MAX_USERNAME:
        raise _constraint(member, f"Member must have length less than or equal to {MAX_USERNAME}")
    if not value or any(unicodedata.category(c)[0] not in _ALLOWED_CATEGORIES for c in value):
        raise _constraint(member, f"Member must satisfy regular expression pattern: {USERNAME_PATTERN}")


def check_new_password(value: str, member: str = "password") -> None:
    """Refuse a password AWS's PasswordType refuses (before the pool's policy is applied)."""
    if len(value) > MAX_PASSWORD:
        raise _constraint(member, f"Member must have length less than or equal to {MAX_PASSWORD}")
    if not _PASSWORD.match(value) or len(value) < 2:
        raise _constraint(member, f"Member must satisfy regular expression pattern: {PASSWORD_PATTERN}")


def check_attributes(attributes: Mapping[str, str], schema: Iterable[Mapping[str, Any]]) -> None:
    """Refuse attributes the pool's schema does not have, values that are too long, and malformed emails."""
    known = {str(item.get("Name", "")) for item in schema} | STANDARD_ATTRIBUTES | VERIFIED_FLAGS.keys()
    for name, value in attributes.items():
        if len(name) > MAX_ATTRIBUTE_NAME or name not in known:
            # for parity: AWS's words for an attribute the schema lacks.
            raise errors.InvalidParameter(
                f"Attributes did not conform to the schema: Type for attribute {{{name}}} could not be determined"
            )
        if len(value) > MAX_ATTRIBUTE_VALUE:
            raise errors.InvalidParameter(
                f"Attributes did not conform to the schema: {name}: String must be no longer than "
                f"{MAX_ATTRIBUTE_VALUE} characters"
            )
        if name == "email" and not _EMAIL.fullmatch(value):
            raise errors.InvalidParameter(INVALID_EMAIL)


def loggable(value: str) -> str:
    """`value` safe for one log or console line: control characters escaped, so no one can forge a line."""
    if value.isprintable():
        return value
    return value.encode("unicode_escape").decode("ascii")
