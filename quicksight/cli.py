"""Command line: `python -m quicksight check|preview|up|down --stack NAME ...` (exit 0 ok, 1 problems, 2 usage)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from kit.aws_errors import error_code
from kit.state import StateLayout
from quicksight import athena, aws
from quicksight.check import check_lake
from quicksight.lake import LakeError, LakeReader
from quicksight.manifest import MANIFEST_KEY, ManifestError
from quicksight.render import ChartJsMissing, page_context, render_dashboard
from quicksight.stack import (
    DEFAULT_STATE_DIR,
    StackError,
    resolve_bucket,
    resolve_endpoint,
    s3_client,
    validate_stack_name,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m quicksight", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def lake_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stack", required=True, help="stack name (outputs in .devstate/<stack>/outputs.json)")
        p.add_argument(
            "--endpoint-url",
            help="S3 endpoint (moto/LocalStack); default: AWS_ENDPOINT_URL(_S3), else the backend of a dev server "
            "running this stack, else AWS",
        )
        p.add_argument("--bucket", help="data lake bucket; default: dataBucket from the stack's outputs.json")
        p.add_argument("--region", help="AWS region")
        p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="default: .devstate")

    check = sub.add_parser("check", help="check the lake, manifest and bucket policy as QuickSight will use them")
    lake_args(check)
    preview = sub.add_parser("preview", help="write the dashboard as a standalone HTML file")
    lake_args(preview)
    preview.add_argument("--out", type=Path, required=True, help="HTML file to write")
    preview.add_argument("--user-id", help="preselect this userId in the filter")
    preview.add_argument(
        "--cache",
        type=Path,
        help="file of parsed lake files kept between runs, so a rerun reads only what changed "
        "(default: .devstate/<stack>/lake-cache.<bucket>.jsonl when .devstate/<stack>/ exists, shared with make dev)",
    )
    preview.add_argument("--no-cache", action="store_true", help="read every file, keep nothing")
    up = sub.add_parser("up", help="create/update the QuickSight data source, data set, analysis and dashboard")
    up.add_argument("--stack", required=True)
    up.add_argument("--user", required=True, help="QuickSight user ARN that gets owner permissions")
    up.add_argument("--bucket", help="data lake bucket; default: dataBucket from the stack's outputs.json")
    up.add_argument("--region")
    up.add_argument("--account-id", help="default: the caller's account (sts get-caller-identity)")
    up.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    up.add_argument(
        "--athena",
        action="store_true",
        help="read the compacted lake through Athena (the Glue table and workgroup of `python -m bootstrap up "
        "--athena`) instead of importing the manifest's files: for lakes past QuickSight's 1,000 files / 10 GB",
    )
    up.add_argument(
        "--import-mode",
        choices=["DIRECT_QUERY", "SPICE"],
        default="DIRECT_QUERY",
        help="with --athena: DIRECT_QUERY (each visual is an Athena query, default) or SPICE (imported copy)",
    )
    down = sub.add_parser("down", help="delete what `up` created")
    down.add_argument("--stack", required=True)
    down.add_argument("--user", help="accepted for symmetry with `up`; not needed to delete")
    down.add_argument("--region")
    down.add_argument("--account-id")
    down.add_argument("--athena", action="store_true", help="also delete the Athena data set and data source")
    return parser


def _lake_client(args: argparse.Namespace) -> S3Client:
    endpoint, source = resolve_endpoint(args.stack, args.endpoint_url, args.state_dir)
    if endpoint is not None and source != "--endpoint-url":
        print(f"reading the lake at {endpoint}, from {source}", file=sys.stderr)
    return s3_client(endpoint, args.region, emulator=source != "AWS")


def _check(args: argparse.Namespace, out: TextIO) -> int:
    bucket = resolve_bucket(args.stack, args.bucket, args.state_dir)
    problems = check_lake(_lake_client(args), bucket)
    for problem in problems:
        print(problem, file=out)
    if problems:
        print(f"{len(problems)} problem(s): QuickSight would not import s3://{bucket} cleanly.", file=out)
        return EXIT_PROBLEMS
    print(f"OK: s3://{bucket}/{MANIFEST_KEY} and the lake are ready for QuickSight.", file=out)
    return EXIT_OK


def _preview_cache(args: argparse.Namespace, bucket: str) -> Path | None:
    if args.no_cache:
        return None
    if args.cache is not None:
        return Path(args.cache)
    layout = StateLayout(Path(args.state_dir), args.stack)
    return layout.lake_cache(bucket) if layout.stack_dir.is_dir() else None


def _preview(args: argparse.Namespace, out: TextIO) -> int:
    bucket = resolve_bucket(args.stack, args.bucket, args.state_dir)
    reader = LakeReader(_lake_client(args), bucket, cache_path=_preview_cache(args, bucket))
    try:
        snapshot = reader.read()
    except (ManifestError, LakeError) as e:
        print(f"{e.code}: {e.message}", file=sys.stderr)
        return EXIT_PROBLEMS
    context = page_context(snapshot)
    page = render_dashboard(snapshot.rows, context, selected_user=args.user_id)
    args.out.write_text(page, encoding="utf-8")
    print(
        f"wrote {args.out}: {len(snapshot.rows)} expenses from {snapshot.listed} files "
        f"({snapshot.fetched} read, {snapshot.listed - snapshot.fetched} unchanged from the cache), "
        f"{context.skipped} skipped",
        file=out,
    )
    for message in context.import_problems:
        print(f"warning: {message}", file=sys.stderr)
    return EXIT_OK


def _quicksight_client(region: str | None) -> tuple[boto3.session.Session, str]:
    session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
    if session.get_credentials() is None:
        raise NoCredentialsError()
    if not session.region_name:
        raise StackError("no AWS region configured: pass --region or set AWS_REGION")
    return session, session.region_name


def _account_id(session: boto3.session.Session, given: str | None) -> str:
    if given:
        return given
    return str(session.client("sts").get_caller_identity()["Account"])


def _up(args: argparse.Namespace, out: TextIO) -> int:
    validate_stack_name(args.stack)
    bucket = None if args.athena else resolve_bucket(args.stack, args.bucket, args.state_dir)
    session, region = _quicksight_client(args.region)
    account = _account_id(session, args.account_id)
    qs = session.client("quicksight", region_name=region)
    if bucket is None:
        result = athena.up(qs, account, args.stack, args.user, import_mode=args.import_mode)
    else:
        result = aws.up(qs, account, args.stack, bucket, args.user)
    for name, arn in vars(result).items():
        print(f"{name}: {arn}", file=out)
    return EXIT_OK


def _down(args: argparse.Namespace, out: TextIO) -> int:
    validate_stack_name(args.stack)
    session, region = _quicksight_client(args.region)
    account = _account_id(session, args.account_id)
    qs = session.client("quicksight", region_name=region)
    result = athena.down(qs, account, args.stack) if args.athena else aws.down(qs, account, args.stack)
    for name in result.deleted:
        print(f"deleted {name}", file=out)
    for name in result.absent:
        print(f"already absent: {name}", file=out)
    return EXIT_OK


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; errors become one line on stderr and a non-zero exit code, never a traceback."""
    args = _parser().parse_args(argv)
    stream = out if out is not None else sys.stdout
    commands = {"check": _check, "preview": _preview, "up": _up, "down": _down}
    try:
        return commands[args.command](args, stream)
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except NoCredentialsError:
        talks_to = "QuickSight on AWS" if args.command in ("up", "down") else "the lake on AWS (no dev server runs)"
        print(
            f"error: no AWS credentials found; `{args.command}` talks to {talks_to}. Configure credentials "
            "(AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or `aws configure`) and try again"
            + ("." if args.command in ("up", "down") else ", or start `make dev` / pass --endpoint-url."),
            file=sys.stderr,
        )
        return EXIT_USAGE
    except aws.QuickSightError as e:
        print(f"error: {e.code}: {e.message}", file=sys.stderr)
        return EXIT_PROBLEMS
    except ChartJsMissing as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except ClientError as e:
        print(f"error: AWS refused {e.operation_name}: {error_code(e) or 'Unknown'}", file=sys.stderr)
        return EXIT_PROBLEMS
    except BotoCoreError as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_PROBLEMS
