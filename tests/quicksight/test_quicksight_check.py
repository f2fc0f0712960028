"""`check_lake` and `python -m quicksight check`: a good lake passes, each known mistake is named in one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from quicksight.check import check_lake
from quicksight.cli import main
from quicksight.policy import Need, policy_gaps
from tests.quicksight.lake_support import GetCounter, quicksight_read_policy

QS = {"Service": "quicksight.amazonaws.com"}


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: str, resource: str, principal: Any = QS) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}


def test_good_lake_has_no_problems(lake: Any) -> None:
    assert check_lake(lake.s3, lake.bucket) == []


def test_role_principal_and_wildcards_are_accepted(lake: Any) -> None:
    role = {"AWS": "arn:aws:iam::123456789012:role/service-role/aws-quicksight-service-role-v0"}
    lake.put_policy(_policy(_allow("s3:*", f"arn:aws:s3:::{lake.bucket}*", role)))
    assert check_lake(lake.s3, lake.bucket) == []


ROOT = "analytics/expenses/"


def _first_key(lake: Any) -> str:
    """The compacted file holding the first record (the files checked are the compacted ones)."""
    return str(lake.file_of(lake.records[0]))


def _with(field: str, value: Any) -> Callable[[Any], None]:
    def mutate(lake: Any) -> None:
        record = dict(lake.records[0])
        record[field] = value
        lake.put_row(record, lake.encode(record))

    return mutate


def _without(field: str) -> Callable[[Any], None]:
    def mutate(lake: Any) -> None:
        record = {k: v for k, v in lake.records[0].items() if k != field}
        lake.put_row(lake.records[0], lake.encode(record))

    return mutate


def _delete_compacted_files(lake: Any) -> None:
    for file in lake.files():
        lake.s3.delete_object(Bucket=lake.bucket, Key=file)


def _delete_all_expenses(lake: Any) -> None:
    for record in lake.records:
        lake.s3.delete_object(Bucket=lake.bucket, Key=lake.key_of(record))
    _delete_compacted_files(lake)


def _move_manifest_under_expenses(lake: Any) -> None:
    body = lake.s3.get_object(Bucket=lake.bucket, Key="manifest.json")["Body"].read()
    lake.s3.delete_object(Bucket=lake.bucket, Key="manifest.json")
    lake.put("expenses/manifest.json", body)


def _amount_as_text_everywhere(lake: Any) -> None:
    for record in lake.records:
        lake.put_row(record, lake.encode({**record, "amount": str(record["amount"])}))


def _prefix(uri: str) -> Callable[[Any], None]:
    return lambda lake: lake.put_manifest(
        {"fileLocations": [{"URIPrefixes": [uri.format(b=lake.bucket)]}], "globalUploadSettings": {"format": "JSON"}}
    )


BAD_LAKES: list[tuple[str, Callable[[Any], None], str]] = [
    ("no manifest", lambda lake: lake.s3.delete_object(Bucket=lake.bucket, Key="manifest.json"), "MANIFEST_MISSING"),
    ("manifest under expenses/ (mistake #11)", _move_manifest_under_expenses, "MANIFEST_NOT_AT_ROOT"),
    ("prefix at the bucket root", _prefix("s3://{b}/"), "MANIFEST_PREFIX_AT_ROOT"),
    ("prefix without a key", _prefix("s3://{b}"), "MANIFEST_PREFIX_AT_ROOT"),
    ("prefix at one user (mistake #6)", _prefix("s3://{b}/expenses/alice/"), "MANIFEST_PREFIX_ONE_USER"),
    ("prefix at the per-expense objects (the guide's)", _prefix("s3://{b}/expenses/"), "MANIFEST_PREFIX_PER_EXPENSE"),
    ("prefix at one month", _prefix("s3://{b}/analytics/expenses/created_month=2026-01/"), "MANIFEST_PREFIX_PARTIAL"),
    ("prefix user1/ instead of analytics/expenses/", _prefix("s3://{b}/user1/"), "MANIFEST_WRONG_PREFIX"),
    ("the guide's bucket name", _prefix("s3://expense-tracker-data-user/analytics/expenses/"), "MANIFEST_WRONG_BUCKET"),
    (
        "URIs naming only one file",
        lambda lake: lake.put_manifest(
            {
                "fileLocations": [{"URIs": [f"s3://{lake.bucket}/{_first_key(lake)}"]}],
                "globalUploadSettings": {"format": "JSON"},
            }
        ),
        "MANIFEST_URIS_INCOMPLETE",
    ),
    (
        "URI to a missing file",
        lambda lake: lake.put_manifest(
            {
                "fileLocations": [
                    {"URIPrefixes": [f"s3://{lake.bucket}/{ROOT}"]},
                    {"URIs": [f"s3://{lake.bucket}/{ROOT}created_month=1999-01/part-000.json"]},
                ],
                "globalUploadSettings": {"format": "JSON"},
            }
        ),
        "MANIFEST_URI_MISSING",
    ),
    (
        "the guide's containsHeader with JSON",
        lambda lake: lake.put_manifest(
            {
                "fileLocations": [{"URIPrefixes": [f"s3://{lake.bucket}/{ROOT}"]}],
                "globalUploadSettings": {"format": "JSON", "containsHeader": "false"},
            }
        ),
        "MANIFEST_JSON_SETTINGS",
    ),
    (
        "CSV format",
        lambda lake: lake.put_manifest(
            {
                "fileLocations": [{"URIPrefixes": [f"s3://{lake.bucket}/{ROOT}"]}],
                "globalUploadSettings": {"format": "CSV"},
            }
        ),
        "MANIFEST_FORMAT",
    ),
    ("manifest not JSON", lambda lake: lake.put_manifest(b"{'fileLocations': []}"), "MANIFEST_INVALID_JSON"),
    ("manifest with a BOM", lambda lake: lake.put_manifest(b"\xef\xbb\xbf{}"), "MANIFEST_BOM"),
    ("manifest without locations", lambda lake: lake.put_manifest({"fileLocations": []}), "MANIFEST_NO_LOCATIONS"),
    ("no files under the prefix", _delete_all_expenses, "NO_FILES"),
    ("per-expense objects but no compacted file", _delete_compacted_files, "COMPACTION_MISSING"),
    ("a file that does not parse", lambda lake: lake.put(_first_key(lake), b'{"amount": 1,'), "FILE_UNPARSEABLE"),
    ("a file holding an array", lambda lake: lake.put(_first_key(lake), b"[1, 2]"), "FILE_UNPARSEABLE"),
    ("a file that is not UTF-8", lambda lake: lake.put(_first_key(lake), b"\xff{}"), "FILE_UNPARSEABLE"),
    ("a line that is not JSON", lambda lake: lake.put_row(lake.records[2], b"{broken"), "FILE_UNPARSEABLE"),
    ("amount as text in one file", _with("amount", "12.50"), "FIELD_INCONSISTENT_TYPE"),
    ("amount as text everywhere", _amount_as_text_everywhere, "FIELD_WRONG_TYPE"),
    ("a missing category", _without("category"), "FIELD_MISSING"),
    ("a date that is not YYYY-MM-DD", _with("date", "12/01/2026"), "FIELD_BAD_VALUE"),
    ("a field the dataset does not list", _with("note", "x"), "FIELD_EXTRA"),
    ("a CSV file in the lake", lambda lake: lake.put(f"{ROOT}created_month=2026-01/x.csv", "a,b\n"), "NOT_JSON_FILE"),
    ("a file outside the layout", lambda lake: lake.put(f"{ROOT}stray.json", lake.encode(lake.records[0])), "LAYOUT"),
    (
        "a per-expense object under the compacted prefix",
        lambda lake: lake.put(f"{ROOT}alice/2026-01-01T00:00:00.000Z_x.json", lake.encode(lake.records[0])),
        "LAYOUT",
    ),
    ("no bucket policy (mistake #5)", lambda lake: lake.s3.delete_bucket_policy(Bucket=lake.bucket), "POLICY_MISSING"),
    (
        "GetObject on the bucket ARN instead of its objects",
        lambda lake: lake.put_policy(
            _policy(
                _allow("s3:ListBucket", f"arn:aws:s3:::{lake.bucket}"),
                _allow("s3:GetObject", f"arn:aws:s3:::{lake.bucket}"),
            )
        ),
        "POLICY_NO_GET",
    ),
    (
        "ListBucket on the objects instead of the bucket",
        lambda lake: lake.put_policy(
            _policy(
                _allow("s3:ListBucket", f"arn:aws:s3:::{lake.bucket}/*"),
                _allow("s3:GetObject", f"arn:aws:s3:::{lake.bucket}/*"),
            )
        ),
        "POLICY_NO_LIST",
    ),
    (
        "GetObject on analytics/expenses/* only, not on the manifest",
        lambda lake: lake.put_policy(
            _policy(
                _allow("s3:ListBucket", f"arn:aws:s3:::{lake.bucket}"),
                _allow("s3:GetObject", f"arn:aws:s3:::{lake.bucket}/{ROOT}*"),
            )
        ),
        "POLICY_NO_GET",
    ),
    (
        "GetObject on the per-expense objects only, not on the compacted files",
        lambda lake: lake.put_policy(
            _policy(
                _allow("s3:ListBucket", f"arn:aws:s3:::{lake.bucket}"),
                _allow("s3:GetObject", f"arn:aws:s3:::{lake.bucket}/manifest.json"),
                _allow("s3:GetObject", f"arn:aws:s3:::{lake.bucket}/expenses/*"),
            )
        ),
        "POLICY_NO_GET",
    ),
    (
        "policy for another principal",
        lambda lake: lake.put_policy(
            quicksight_read_policy(lake.bucket, {"AWS": "arn:aws:iam::123456789012:role/lambda-role"})
        ),
        "POLICY_NO_GET",
    ),
    (
        "an explicit deny for QuickSight",
        lambda lake: lake.put_policy(
            {
                "Version": "2012-10-17",
                "Statement": [
                    *quicksight_read_policy(lake.bucket)["Statement"],
                    {
                        "Sid": "NoQuickSight",
                        "Effect": "Deny",
                        "Principal": QS,
                        "Action": "s3:Get*",
                        "Resource": f"arn:aws:s3:::{lake.bucket}/analytics/*",
                    },
                ],
            }
        ),
        "POLICY_NO_GET",
    ),
]


@pytest.mark.parametrize(("mutate", "code"), [(m, c) for _, m, c in BAD_LAKES], ids=[n for n, _, _ in BAD_LAKES])
def test_each_mistake_is_reported(lake: Any, mutate: Callable[[Any], None], code: str) -> None:
    mutate(lake)
    problems = check_lake(lake.s3, lake.bucket)
    assert code in {p.code for p in problems}, problems
    for problem in problems:
        assert "\n" not in str(problem) and str(problem).startswith(problem.code)


def test_inconsistent_type_names_the_odd_file(lake: Any) -> None:
    _with("amount", "12.50")(lake)
    (problem,) = [p for p in check_lake(lake.s3, lake.bucket) if p.code == "FIELD_INCONSISTENT_TYPE"]
    assert "'amount'" in problem.message
    assert f"{_first_key(lake)} line 1" in problem.message  # the file and the line of the odd row
    assert "number in 14 rows and text in 1 rows" in problem.message


def test_conditional_deny_does_not_hide_a_grant() -> None:
    # A Deny guarded by a Condition (here: plain-HTTP requests) is not taken as denying QuickSight.
    # (A unit test: moto itself would apply this Deny to the test's own plain-HTTP calls.)
    secure_only = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    policy = _policy(*quicksight_read_policy("b")["Statement"], secure_only)
    needs = [Need("s3:ListBucket", "arn:aws:s3:::b"), Need("s3:GetObject", "arn:aws:s3:::b/expenses/u/k.json")]
    assert policy_gaps(policy, needs) == []
    unconditional = {k: v for k, v in secure_only.items() if k != "Condition"}
    gaps = policy_gaps(_policy(*policy["Statement"][:2], unconditional), needs)
    assert [(need.action, reason) for need, reason in gaps] == [("s3:GetObject", "statement (no Sid) denies it")]


@pytest.mark.parametrize(
    ("statement", "granted"),
    [
        ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}, True),
        ({"Effect": "Allow", "Principal": QS, "Action": "S3:getobject", "Resource": "arn:aws:s3:::b/*"}, True),
        ({"Effect": "Allow", "Principal": QS, "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/expenses/*"}, True),
        ({"Effect": "Allow", "Principal": QS, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*"}, False),
        ({"Effect": "Allow", "Principal": QS, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/other/*"}, False),
        ({"Effect": "Allow", "Principal": QS, "NotAction": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}, True),
        ({"Effect": "Allow", "Principal": QS, "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x/*"}, True),
        ({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "*", "Resource": "*"}, False),
    ],
)
def test_policy_statement_matching(statement: dict[str, Any], granted: bool) -> None:
    gaps = policy_gaps(_policy(statement), [Need("s3:GetObject", "arn:aws:s3:::b/expenses/u/k.json")])
    assert (gaps == []) is granted


def test_many_bad_lines_are_summarised(lake: Any) -> None:
    for record in lake.records:
        lake.put_row(record, b"not json")
    lines = [p for p in check_lake(lake.s3, lake.bucket) if p.code == "FILE_UNPARSEABLE"]
    assert len(lines) == 11
    assert lines[-1].message == "... and 5 more like these"


def test_compaction_missing_says_to_run_reconcile(lake: Any) -> None:
    _delete_compacted_files(lake)
    (problem,) = [p for p in check_lake(lake.s3, lake.bucket) if p.code == "COMPACTION_MISSING"]
    assert f"{len(lake.records)} per-expense objects" in problem.message and "make reconcile" in problem.message
    assert "NO_FILES" not in {p.code for p in check_lake(lake.s3, lake.bucket)}


def test_the_check_reads_only_the_compacted_files(lake: Any) -> None:
    counter = GetCounter()
    assert check_lake(counter.s3, lake.bucket) == []
    assert sorted(counter.take()) == lake.files()  # the per-expense objects are listed, never read


def test_missing_bucket(s3: Any) -> None:
    problems = check_lake(s3, "no-such-bucket")
    assert [p.code for p in problems] == ["BUCKET_MISSING"]


def test_amount_number_types_all_count_as_numbers(lake: Any) -> None:
    # Integers and decimals are both JSON numbers: no type problem.
    _with("amount", Decimal("7"))(lake)
    assert check_lake(lake.s3, lake.bucket) == []


def test_cli_check_ok_exit_zero(lake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--stack", "dev", "--bucket", lake.bucket]) == 0
    assert "OK" in capsys.readouterr().out


def test_cli_check_problems_exit_nonzero(lake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    lake.s3.delete_object(Bucket=lake.bucket, Key="manifest.json")
    assert main(["check", "--stack", "dev", "--bucket", lake.bucket]) == 1
    out = capsys.readouterr().out
    assert "MANIFEST_MISSING" in out


def test_cli_resolves_bucket_from_devstate(lake: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "outputs.json").write_text(json.dumps({"dataBucket": lake.bucket}))
    assert main(["check", "--stack", "dev", "--state-dir", str(tmp_path)]) == 0
    assert lake.bucket in capsys.readouterr().out


@pytest.mark.parametrize(
    ("outputs", "message"),
    [(None, "does not exist"), ("{}", "no 'dataBucket'"), ("not json", "unreadable")],
)
def test_cli_without_bucket_says_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], outputs: str | None, message: str
) -> None:
    if outputs is not None:
        (tmp_path / "dev").mkdir()
        (tmp_path / "dev" / "outputs.json").write_text(outputs)
    assert main(["check", "--stack", "dev", "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "--bucket" in err


def test_cli_rejects_bad_stack_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--stack", "../etc", "--bucket", "b"]) == 2
    assert "stack name" in capsys.readouterr().err
