"""The one declarative definition of a stack: every resource name and setting, derived from stack, region, account."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kit.constants import STAGE, StackNameError, check_stack_name
from kit.contract import PROJECT_ROOT, Contract, load_contract

REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
API_STAGE = STAGE
APP_CLIENT_NAME = "ExpenseTrackerApp"
AUTHORIZER_NAME = "CognitoAuthorizer"
DEFAULT_CURRENCY = "USD"
# The guide's password policy: at least 6 characters with upper, lower, number and symbol.
PASSWORD_POLICY = {
    "MinimumLength": 6,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
}
# Stage-wide throttling (method settings `*/*`); API Gateway's account default is 10000/5000.
THROTTLE_RATE_LIMIT = 50.0
THROTTLE_BURST_LIMIT = 100


class SpecError(ValueError):
    """A stack name, region or derived name that AWS would refuse."""


@dataclass(frozen=True)
class StackSpec:
    """Names and settings of one stack; nothing here talks to AWS."""

    stack: str
    region: str
    account_id: str
    on_aws: bool
    project_root: Path = PROJECT_ROOT
    contract: Contract = field(default_factory=load_contract)
    # `--athena` (AWS only): a Glue table over the compacted lake, an Athena workgroup and QuickSight's role for it.
    athena: bool = False

    def __post_init__(self) -> None:
        try:
            check_stack_name(self.stack)
        except StackNameError as e:
            raise SpecError(str(e)) from e
        if not REGION_PATTERN.match(self.region):
            raise SpecError(f"region {self.region!r} does not look like an AWS region (e.g. us-east-1)")
        if len(self.trigger_functions) > 1:
            # for parity: S3 refuses two notification configurations of one bucket that share an event type and
            # overlap in prefix ("Configurations overlap. Configurations on the same bucket cannot share a common
            # event type": https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html).
            raise SpecError(
                f"functions {', '.join(self.trigger_functions)} all have a lake-events trigger: one function only "
                "(S3 refuses overlapping notification configurations)"
            )
        for bucket in (self.data_bucket, self.frontend_bucket):
            if len(bucket) > 63:
                raise SpecError(f"bucket name {bucket!r} is longer than 63 characters: use a shorter stack name")

    # -- names (the guide's, prefixed by the stack so several stacks coexist) --
    @property
    def user_pool_name(self) -> str:
        return f"{self.stack}-ExpenseTrackerUserPool"

    @property
    def table_name(self) -> str:
        return f"{self.stack}-Expenses"

    @property
    def data_bucket(self) -> str:
        return f"{self.stack}-expense-tracker-data-{self.account_id}-{self.region}".lower()

    @property
    def frontend_bucket(self) -> str:
        return f"{self.stack}-expense-tracker-frontend-{self.account_id}-{self.region}".lower()

    @property
    def api_name(self) -> str:
        return f"{self.stack}-ExpenseTrackerAPI"

    @property
    def distribution_comment(self) -> str:
        return f"{self.stack}-ExpenseTrackerFrontend"

    @property
    def headers_policy_name(self) -> str:
        return f"{self.stack}-ExpenseTrackerSecurityHeaders"

    @property
    def oac_name(self) -> str:
        return f"{self.stack}-expense-tracker-frontend-oac"

    @property
    def lake_events_queue(self) -> str:
        """The SQS queue the data bucket's notifications of expenses/ go to (the trigger functions' event source)."""
        return f"{self.stack}-lake-events"

    @property
    def lake_events_dlq(self) -> str:
        return f"{self.stack}-lake-events-dlq"

    @property
    def trigger_functions(self) -> tuple[str, ...]:
        """The contract functions invoked by the lake's events, not by API Gateway."""
        return tuple(key for key, fn in self.contract.functions.items() if fn.trigger is not None)

    @property
    def api_functions(self) -> tuple[str, ...]:
        return tuple(key for key, fn in self.contract.functions.items() if fn.trigger is None)

    def function_name(self, key: str) -> str:
        return f"{self.stack}-{self.contract.functions[key].name}"

    def role_name(self, key: str) -> str:
        return f"{self.stack}-{self.contract.functions[key].name}-role"

    def log_group(self, key: str) -> str:
        return f"/aws/lambda/{self.function_name(key)}"

    # -- ARNs --
    @property
    def partition(self) -> str:
        return "aws-cn" if self.region.startswith("cn-") else "aws"

    @property
    def table_arn(self) -> str:
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account_id}:table/{self.table_name}"

    def bucket_arn(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    def queue_arn(self, queue: str) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{self.account_id}:{queue}"

    def role_arn(self, key: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{self.role_name(key)}"

    def function_arn(self, key: str) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:{self.function_name(key)}"

    def log_group_arn(self, key: str) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{self.account_id}:log-group:{self.log_group(key)}"

    def invoke_uri(self, key: str) -> str:
        return (
            f"arn:{self.partition}:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
            f"{self.function_arn(key)}/invocations"
        )

    def execute_api_arn(self, api_id: str) -> str:
        return f"arn:{self.partition}:execute-api:{self.region}:{self.account_id}:{api_id}/*/*/*"

    def distribution_arn(self, distribution_id: str) -> str:
        return f"arn:{self.partition}:cloudfront::{self.account_id}:distribution/{distribution_id}"

    # -- files --
    @property
    def lambdas_dir(self) -> Path:
        return self.project_root / "lambdas"

    def function_code(self, key: str) -> Path:
        """The function's app.py: lambdas/<key>/app.py, or beside the contract overlay that adds it."""
        return (self.contract.functions[key].code_dir or self.lambdas_dir / key) / "app.py"

    @property
    def core_dir(self) -> Path:
        return self.project_root / "expense_core"

    @property
    def payload_dirs(self) -> tuple[Path, ...]:
        """The packages every Lambda zip carries next to app.py: expense_core and the kit layer it builds on."""
        return (self.core_dir, self.project_root / "kit")

    @property
    def frontend_dir(self) -> Path:
        return self.project_root / "frontend"
