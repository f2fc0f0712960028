"""What every fault test ends with (nothing acknowledged lost, nothing duplicated) and ways to make AWS fail."""

from __future__ import annotations

import contextlib
import functools
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse

from bench.load import Ledger, LoadUser, Stores, Verdict, check


def assert_nothing_lost(stores: Stores, ledgers: Iterable[Ledger], *, certain: bool = True) -> Verdict:
    """The shared end of every fault test: bench.load's audit of table and lake against what clients were told.

    `certain=True` also demands that every write got an answer in the end (no outcome left unknown).
    """
    ledgers = list(ledgers)
    verdict = check(stores, ledgers)
    assert verdict.problems == [], "\n".join(verdict.problems)
    if certain:
        unknown = {lg.username: (sorted(lg.uncertain), sorted(lg.unresolved_keys)) for lg in ledgers}
        assert all(ids == [] and keys == [] for ids, keys in unknown.values()), unknown
    return verdict


def deny_lake_writes_policy(bucket: str) -> str:
    """A bucket policy refusing every PutObject/DeleteObject in the data bucket (moto evaluates bucket policies)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "FaultInjectionLakeOutage",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": ["s3:PutObject", "s3:DeleteObject"],
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )


@contextlib.contextmanager
def lake_outage(stores: Stores) -> Iterator[None]:
    """While inside: the data bucket refuses writes with 403 AccessDenied, as with a broken IAM or bucket policy."""
    stores.s3.put_bucket_policy(Bucket=stores.bucket, Policy=deny_lake_writes_policy(stores.bucket))
    try:
        yield
    finally:
        stores.s3.delete_bucket_policy(Bucket=stores.bucket)


class _Body:
    """The raw body of an injected response, read the way botocore reads a urllib3 response."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class InjectedErrors:
    """Answers chosen operations of one botocore client with an AWS error instead of sending them.

    Registered first on `before-send.<service>.<Operation>` (where botocore asks whether anyone has a response
    before it goes to the wire), so botocore's own retry handler sees the error exactly as if AWS had sent it:
    it retries with backoff (standard mode) within its retry quota. `attempts` counts every try per operation.
    """

    def __init__(
        self,
        client: Any,
        operations: Iterable[str],
        *,
        times: int | None,
        status: int = 500,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.client = client
        self.operations = tuple(operations)
        self.left = times  # None = every attempt
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.attempts: Counter[str] = Counter()
        self.injected = 0
        service = client.meta.service_model.service_id.hyphenize()
        self._handlers = {
            f"before-send.{service}.{op}": functools.partial(self._before_send, op) for op in self.operations
        }

    def _before_send(self, operation: str, request: Any, **_: Any) -> AWSResponse | None:
        self.attempts[operation] += 1
        if self.left is not None:
            if self.left <= 0:
                return None
            self.left -= 1
        self.injected += 1
        headers: Any = self.headers  # botocore wraps any mapping in its case-insensitive HeadersDict
        return AWSResponse(request.url, self.status, headers, _Body(self.body))

    def stop(self) -> None:
        """From now on every call goes through (the outage is over); attempts are still counted."""
        self.left = 0

    def __enter__(self) -> InjectedErrors:
        for event, handler in self._handlers.items():
            self.client.meta.events.register_first(event, handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for event, handler in self._handlers.items():
            self.client.meta.events.unregister(event, handler)


def dynamodb_throttling(client: Any, operations: Iterable[str], times: int | None) -> InjectedErrors:
    """ProvisionedThroughputExceededException (HTTP 400), as DynamoDB answers a throttled request."""
    code = "ProvisionedThroughputExceededException"
    return InjectedErrors(
        client,
        operations,
        times=times,
        status=400,
        body=json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "The level of configured"
                         " provisioned throughput for the table was exceeded."}).encode(),
        headers={"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code},
    )  # fmt: skip


def s3_slowdown(client: Any, operations: Iterable[str], times: int | None) -> InjectedErrors:
    """503 SlowDown, as S3 answers when a prefix is written too fast."""
    body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    return InjectedErrors(
        client, operations, times=times, status=503, body=body, headers={"Content-Type": "application/xml"}
    )


def counting(client: Any, operations: Iterable[str]) -> InjectedErrors:
    """Injects nothing; only counts the attempts of `operations`."""
    return InjectedErrors(client, operations, times=0)


class InProcessResponse:
    """The part of a requests.Response bench.load's careful client reads, from a Lambda proxy result."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.status_code = int(result["statusCode"])
        self.headers = dict(result["headers"])
        self.text = str(result["body"])

    def json(self) -> Any:
        return json.loads(self.text)


class InProcessUser:
    """A signed-in user for bench.load.LoadUser whose requests go to the real handlers in-process (through
    tests.support.Api's event builder), so a test can make the handlers' own clients fail retryably."""

    def __init__(self, username: str, sub: str) -> None:
        self.username = username
        self.claims = {"sub": sub, "cognito:username": username, "token_use": "id"}

    def api(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
    ) -> InProcessResponse:
        from urllib.parse import parse_qsl, urlsplit

        from tests.support import Api, LambdaContext, make_event

        parts = urlsplit(path)
        resource, params = parts.path, {}
        if resource.count("/") == 2 and resource.rsplit("/", 1)[1] not in ("summary", "export"):
            resource, params = "/expenses/{expenseId}", {"expenseId": resource.rsplit("/", 1)[1]}
        function = Api.ROUTES[(method, resource)]
        event = make_event(
            method, resource, path_params=params or None, query=dict(parse_qsl(parts.query)) or None,
            body=json, headers=headers, claims=self.claims,
        )  # fmt: skip
        return InProcessResponse(Api.handler(function).lambda_handler(event, LambdaContext(function)))


def in_process_load_user(username: str, *, seed: int, retry_for: float) -> LoadUser:
    """bench.load's careful client for `username`, talking to the handlers in-process (InProcessUser)."""
    from tests.support import claims_for

    sub = claims_for(username)["sub"]
    user: Any = InProcessUser(username, sub)  # the same surface as tests.devserver_support.User for LoadUser
    return LoadUser(user, sub, seed=seed, retry_for=retry_for)
