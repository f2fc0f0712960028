"""`python -m bootstrap up|down|status|plan`: the command line over the provisioning engine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from bootstrap.contract import ContractError
from bootstrap.engine import run_down, run_status, run_up
from bootstrap.packaging import PackagingError
from bootstrap.policies import PolicyValidationError
from bootstrap.resources.base import ProvisionError, error_code
from bootstrap.spec import SpecError
from bootstrap.target import Target, TargetError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_CREDENTIALS = 3
EXIT_MISSING_SETTINGS = 4
EXIT_ABORTED = 5
# STS answers these when the credentials exist but are not valid.
_CREDENTIAL_ERRORS = {
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AccessDenied",
    "InvalidAccessKeyId",
}


class CliExit(Exception):
    """Ends the command with a message and a distinct exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bootstrap",
        description="Provision the whole expense tracker stack (Cognito, DynamoDB, S3, IAM, Lambda, API Gateway, "
        "CloudFront) from one definition, on a local endpoint or on AWS.",
    )
    parser.add_argument("command", choices=["up", "down", "status", "plan"])
    parser.add_argument(
        "--target",
        choices=["embedded", "endpoint", "aws"],
        default="embedded",
        help="embedded: the dev server's backend (default: in-process moto, DynamoDB on DynamoDB Local); "
        "endpoint: a moto server or LocalStack at --endpoint-url; aws: real AWS (standard credential chain)",
    )
    parser.add_argument("--endpoint-url", help="for --target endpoint, e.g. http://127.0.0.1:5000")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--stack", default="dev", help="prefix of every resource name (several stacks coexist)")
    parser.add_argument("--profile", help="AWS profile for --target aws (default: AWS_PROFILE / the chain)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".devstate"),
        help="where outputs.json and config.json are written (under <state-dir>/<stack>/)",
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before changing AWS")
    return parser


def aws_identity(target: Target, region: str) -> tuple[str, str]:
    """(account id, caller ARN) from STS; a clear CliExit when there are no usable credentials."""
    try:
        identity = target.session(region).client("sts", **target.client_kwargs()).get_caller_identity()
    except ProfileNotFound as e:
        raise CliExit(EXIT_NO_CREDENTIALS, f"AWS profile not found: {e}") from e
    except NoCredentialsError as e:
        raise CliExit(
            EXIT_NO_CREDENTIALS,
            "no AWS credentials found: set AWS_PROFILE (or run `aws sso login --profile NAME`), or export "
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; nothing was done",
        ) from e
    except ClientError as e:
        if error_code(e) in _CREDENTIAL_ERRORS:
            raise CliExit(
                EXIT_NO_CREDENTIALS, f"AWS refused the credentials ({error_code(e)}); nothing was done"
            ) from e
        raise
    except BotoCoreError as e:
        # Token/SSO loading errors and unreachable endpoints: nothing can be done without an identity.
        raise CliExit(EXIT_NO_CREDENTIALS, f"cannot get an AWS identity ({type(e).__name__}); nothing was done") from e
    return str(identity["Account"]), str(identity["Arn"])


def confirm(question: str, stdin: TextIO, stdout: TextIO) -> bool:
    if not stdin.isatty():
        raise CliExit(EXIT_ABORTED, "not asking on a non-interactive input: pass --yes to proceed; nothing was done")
    stdout.write(f"{question} [y/N] ")
    stdout.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


@contextmanager
def _embedded(state_root: Path, stack: str, region: str) -> Iterator[Target]:
    from devserver.backend import EmbeddedServices  # lazy: only this target needs the dev server's backend

    # DynamoDB on DynamoDB Local (moto when Java is missing, said in one line), the rest on the embedded moto.
    backend = EmbeddedServices(state_dir=state_root / stack / "backend", region=region)
    backend.start()
    try:
        yield Target.endpoint(backend.endpoint_url, backend.service_endpoints)
    finally:
        backend.stop()


def _run(args: argparse.Namespace, out: Callable[[str], None], stdin: TextIO, stdout: TextIO) -> int:
    if args.target == "endpoint":
        if not args.endpoint_url:
            raise CliExit(EXIT_MISSING_SETTINGS, "--target endpoint needs --endpoint-url (e.g. http://127.0.0.1:5000)")
        target = Target.endpoint(args.endpoint_url)
    elif args.target == "aws":
        target = Target.aws(profile=args.profile)
    else:
        if args.endpoint_url:
            raise CliExit(EXIT_MISSING_SETTINGS, "--endpoint-url goes with --target endpoint")
        with _embedded(args.state_dir, args.stack, args.region) as embedded:
            return _dispatch(args, embedded, out)
    if target.is_aws:
        account, caller = aws_identity(target, args.region)
        out(f"AWS account {account} as {caller}, region {args.region}, stack {args.stack}")
        if args.command in ("up", "down") and not args.yes:
            if args.command == "up":
                changes = run_up(target, args.stack, args.region, out, args.state_dir, dry_run=True).changes
                if not any(c.action.startswith("would") for c in changes):
                    out("nothing to change")
                    return EXIT_OK
                question = f"Create/update the resources above in account {account} ({args.region})?"
            else:
                run_status(target, args.stack, args.region, out, args.state_dir)
                question = f"DELETE every resource of stack {args.stack} in account {account} ({args.region})?"
            if not confirm(question, stdin, stdout):
                raise CliExit(EXIT_ABORTED, "aborted; nothing was done")
    return _dispatch(args, target, out)


def _dispatch(args: argparse.Namespace, target: Target, out: Callable[[str], None]) -> int:
    if args.command == "up":
        run_up(target, args.stack, args.region, out, args.state_dir)
    elif args.command == "plan":
        run_up(target, args.stack, args.region, out, args.state_dir, dry_run=True)
    elif args.command == "down":
        run_down(target, args.stack, args.region, out, args.state_dir)
    else:
        run_status(target, args.stack, args.region, out, args.state_dir)
    return EXIT_OK


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout

    def out(line: str) -> None:
        stdout.write(line + "\n")
        stdout.flush()

    try:
        return _run(args, out, stdin, stdout)
    except CliExit as e:
        sys.stderr.write(f"bootstrap: {e.message}\n")
        return e.code
    except (SpecError, TargetError, ContractError) as e:
        sys.stderr.write(f"bootstrap: {e}\n")
        return EXIT_MISSING_SETTINGS
    except (ProvisionError, PolicyValidationError, PackagingError) as e:
        sys.stderr.write(f"bootstrap: {e}\n")
        return EXIT_FAILED
    except ClientError as e:
        operation = getattr(e, "operation_name", "a call")
        sys.stderr.write(f"bootstrap: AWS refused {operation}: {error_code(e)}\n")
        return EXIT_FAILED
    except NoCredentialsError:
        sys.stderr.write("bootstrap: no AWS credentials found; nothing was done\n")
        return EXIT_NO_CREDENTIALS
