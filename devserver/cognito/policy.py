"""A user pool's password policy, checked with the reasons AWS gives (moto only says "does not confirm")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from devserver.cognito import errors
from devserver.cognito.validation import check_new_password

# for parity: the characters Cognito's password policy counts as symbols (the "Password requirements" list
# of the Cognito developer guide, "Adding user pool password requirements"), and the space.
PASSWORD_SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
# for parity: InvalidPasswordException says which rule failed, as in this capture of AWS's answer to SignUp:
# "Password did not conform with policy: Password must have symbol characters" (github.com/maxgala/aspire#26).
POLICY_PREFIX = "Password did not conform with policy: "


def check_password_policy(policy: Mapping[str, Any], password: str) -> None:
    """Refuse a password the pool's policy forbids, naming the first rule it breaks as Cognito does.

    AWS's PasswordType (no leading or trailing space, at most 256) is checked first: it is input validation.
    """
    check_new_password(password)
    if len(password) < int(policy.get("MinimumLength", 8)):
        raise errors.InvalidPassword(POLICY_PREFIX + "Password not long enough")
    if policy.get("RequireUppercase", True) and not re.search(r"[A-Z]", password):
        raise errors.InvalidPassword(POLICY_PREFIX + "Password must have uppercase characters")
    if policy.get("RequireLowercase", True) and not re.search(r"[a-z]", password):
        raise errors.InvalidPassword(POLICY_PREFIX + "Password must have lowercase characters")
    if policy.get("RequireNumbers", True) and not re.search(r"[0-9]", password):
        raise errors.InvalidPassword(POLICY_PREFIX + "Password must have numeric characters")
    if policy.get("RequireSymbols", True) and not PASSWORD_SYMBOLS.intersection(password):
        raise errors.InvalidPassword(POLICY_PREFIX + "Password must have symbol characters")
