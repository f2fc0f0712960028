"""kit.constants: one stack-name rule for bootstrap, quicksight and the dev server; the local account id."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from bootstrap.spec import SpecError, StackSpec
from kit.constants import LAKE_PREFIX, LOCAL_ACCOUNT_ID, STAGE, StackNameError, check_stack_name
from quicksight.stack import StackError, validate_stack_name

GOOD = ["dev", "a", "Dev-2", "a" * 20, "t1234abcd"]
BAD = ["", "1dev", "-dev", "dev_1", "a" * 21, "../etc", "dev stack", "dév", "dev.1"]


@pytest.mark.parametrize("name", GOOD)
def test_good_names_pass_everywhere(name: str) -> None:
    assert check_stack_name(name) == name
    assert validate_stack_name(name) == name
    if len(name) <= 15:  # longer names pass the rule, then may meet the derived bucket names' limit (below)
        assert StackSpec(stack=name, region="us-east-1", account_id=LOCAL_ACCOUNT_ID, on_aws=False).stack == name


@pytest.mark.parametrize("name", BAD)
def test_bad_names_fail_everywhere_with_the_same_rule(name: str) -> None:
    with pytest.raises(StackNameError, match="1-20 letters, digits or '-', starting with a letter"):
        check_stack_name(name)
    with pytest.raises(StackError, match="1-20 letters"):
        validate_stack_name(name)
    with pytest.raises(SpecError, match="1-20 letters"):
        StackSpec(stack=name, region="us-east-1", account_id=LOCAL_ACCOUNT_ID, on_aws=False)


def test_bucket_names_stay_within_s3s_limit() -> None:
    # for parity: S3 bucket names are 3-63 characters of [a-z0-9.-]
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
    spec = StackSpec(stack="Dev-2", region="us-east-1", account_id=LOCAL_ACCOUNT_ID, on_aws=False)
    for bucket in (spec.data_bucket, spec.frontend_bucket):
        assert 3 <= len(bucket) <= 63 and bucket == bucket.lower()
    with pytest.raises(SpecError, match="longer than 63"):
        StackSpec(stack="a" * 20, region="us-east-1", account_id=LOCAL_ACCOUNT_ID, on_aws=False)
    with pytest.raises(SpecError, match="longer than 63"):
        StackSpec(stack="a" * 11, region="ap-southeast-2", account_id=LOCAL_ACCOUNT_ID, on_aws=False)


def test_local_account_id_is_the_emulators(moto_session: Any) -> None:
    # for parity: moto maps every non-numeric access key id (ours is "testing") to 123456789012.
    identity = boto3.client("sts", region_name="us-east-1").get_caller_identity()
    assert identity["Account"] == LOCAL_ACCOUNT_ID == "123456789012"


def test_shared_names() -> None:
    assert STAGE == "prod"
    assert LAKE_PREFIX == "expenses/"
