"""Names and values every part of the kit agrees on: stage, account, lake prefix, regions and the stack-name rule."""

from __future__ import annotations

import re

# The API Gateway stage every stack deploys (the dev server serves the API under /<stage>/ as AWS does).
STAGE = "prod"
# for parity: moto and LocalStack map every non-numeric access key id to this account
# (https://docs.getmoto.org/en/latest/docs/multi_account.html).
LOCAL_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
# Where the data lake keeps one JSON object per expense (the guide's `expenses/<user>/...` layout).
LAKE_PREFIX = "expenses/"
# The placeholder key pair for emulators (moto, LocalStack, the embedded backend): never a real credential.
PLACEHOLDER_ACCESS_KEY_ID = "testing"
PLACEHOLDER_SECRET_ACCESS_KEY = "testing"  # noqa: S105 - a well-known placeholder, not a secret

# One stack-name rule for bootstrap, the dev server and quicksight. Stack names prefix S3 bucket names, which allow
# no '_' or upper case (the spec lower-cases them) and at most 63 characters in all
# (for parity: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html), and QuickSight ids.
STACK_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,19}")
STACK_NAME_RULE = "1-20 letters, digits or '-', starting with a letter"


class StackNameError(ValueError):
    """A stack name outside the one rule."""


def check_stack_name(stack: str) -> str:
    """`stack` when it follows the rule, else StackNameError saying the rule."""
    if not isinstance(stack, str) or not STACK_NAME_PATTERN.fullmatch(stack):
        raise StackNameError(f"stack name {stack!r}: use {STACK_NAME_RULE}")
    return stack
