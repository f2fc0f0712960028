"""`python -m bootstrap up|down|status|plan|template`: the command line over the provisioning engine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError, NoCredentialsError

from bootstrap.cfn.errors import DeployAborted, DeployError, TemplateError
from bootstrap.engine import RunResult, run_down, run_status, run_up
from bootstrap.interaction import (
    EXIT_ABORTED,
    EXIT_FAILED,
    EXIT_MISSING_SETTINGS,
    EXIT_NO_CREDENTIALS,
    EXIT_OK,
    CliExit,
    aws_identity,
    confirm,
)
from bootstrap.packaging import PackagingError
from bootstrap.policies import PolicyValidationError
from bootstrap.resources.base import ProvisionError
from bootstrap.spec import SpecError
from bootstrap.target import Target, TargetError
from kit.aws_errors import error_code
from kit.contract import CONTRACT_PATH, ContractError
from kit.state import DEFAULT_STATE_ROOT, StateLayout


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bootstrap",
        description="Provision the whole expense tracker stack (Cognito, DynamoDB, S3, IAM, Lambda, API Gateway, "
        "CloudFront) from one definition, on a local endpoint or on AWS.",
    )
    parser.add_argument("command", choices=["up", "down", "status", "plan", "template"])
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
        default=DEFAULT_STATE_ROOT,
        help="where outputs.json and config.json are written (under <state-dir>/<stack>/)",
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before changing AWS")
    parser.add_argument(
        "--athena",
        action="store_true",
        help="AWS only: also a Glue table over the compacted lake (analytics/), an Athena workgroup and a role for "
        "QuickSight's Athena data source, for lakes past QuickSight's S3 limits (then `python -m quicksight up "
        "--athena`); give it to down and status too",
    )
    parser.add_argument(
        "--contract",
        type=Path,
        default=CONTRACT_PATH,
        metavar="FILE",
        help="the API contract (default api/openapi.yaml), or an overlay adding operations and functions to it "
        "(e.g. the parity suite's probe: tests/parity/probe/openapi.yaml); --deploy direct only",
    )
    cfn = parser.add_argument_group("CloudFormation (template, and up/down --target aws --deploy cfn)")
    cfn.add_argument(
        "--deploy",
        choices=["direct", "cfn"],
        default="direct",
        help="direct: boto3 calls, resource by resource (default, every target); cfn: one CloudFormation stack "
        "through a change set (AWS only)",
    )
    cfn.add_argument("--format", choices=["yaml", "json"], default="yaml", help="template: output format")
    cfn.add_argument("--out", type=Path, help="template: write to this file instead of standard output")
    cfn.add_argument("--domain", default="", help="cfn: custom domain of the site (CloudFront alias)")
    cfn.add_argument("--certificate-arn", default="", help="cfn: ACM certificate (us-east-1) for --domain")
    cfn.add_argument(
        "--quicksight",
        choices=["auto", "enabled", "disabled"],
        default="auto",
        help="cfn: QuickSight's read access to the lake; auto: enabled when QuickSight is set up in the account",
    )
    return parser


@contextmanager
def _embedded(state_root: Path, stack: str, region: str, out: Callable[[str], None]) -> Iterator[Target]:
    from localaws import EmbeddedServices  # lazy: only this target starts the local AWS backend

    # The same backend state as `make dev` (one location, whatever the stack), moved there from the old one.
    # DynamoDB on DynamoDB Local (moto when Java is missing, said in one line), the rest on the embedded moto.
    layout = StateLayout(state_root, stack)
    layout.migrate(announce=out)
    backend = EmbeddedServices(state_dir=layout.backend_dir, region=region)
    backend.start()
    try:
        yield Target.endpoint(backend.endpoint_url, backend.service_endpoints)
    finally:
        backend.stop()


def _run(args: argparse.Namespace, out: Callable[[str], None], stdin: TextIO, stdout: TextIO) -> int:
    if args.athena and args.command != "template" and args.target != "aws":
        raise CliExit(
            EXIT_MISSING_SETTINGS,
            "--athena goes with --target aws: Glue, Athena and QuickSight's queries exist only on AWS "
            "(locally the dashboard reads the compacted files itself)",
        )
    if args.command == "template" or args.deploy == "cfn":
        if Path(args.contract) != CONTRACT_PATH:
            raise CliExit(EXIT_MISSING_SETTINGS, "--contract goes with --deploy direct (template and cfn: the app's)")
        from bootstrap.cfn import command  # lazy: the CloudFormation path

        if args.command == "template":
            return command.write_template(args, stdout)
        return command.run(args, out, stdin, stdout)
    if args.target == "endpoint":
        if not args.endpoint_url:
            raise CliExit(EXIT_MISSING_SETTINGS, "--target endpoint needs --endpoint-url (e.g. http://127.0.0.1:5000)")
        target = Target.endpoint(args.endpoint_url)
    elif args.target == "aws":
        target = Target.aws(profile=args.profile)
    else:
        if args.endpoint_url:
            raise CliExit(EXIT_MISSING_SETTINGS, "--endpoint-url goes with --target endpoint")
        with _embedded(args.state_dir, args.stack, args.region, out) as embedded:
            return _dispatch(args, embedded, out)
    if target.is_aws:
        account, caller = aws_identity(target, args.region)
        out(f"AWS account {account} as {caller}, region {args.region}, stack {args.stack}")
        if args.command in ("up", "down") and not args.yes:
            if args.command == "up":
                changes = _engine(run_up, args, target, out, dry_run=True).changes
                if not any(c.action.startswith("would") for c in changes):
                    out("nothing to change")
                    return EXIT_OK
                question = f"Create/update the resources above in account {account} ({args.region})?"
            else:
                _engine(run_status, args, target, out)
                question = f"DELETE every resource of stack {args.stack} in account {account} ({args.region})?"
            if not confirm(question, stdin, stdout):
                raise CliExit(EXIT_ABORTED, "aborted; nothing was done")
    return _dispatch(args, target, out)


def _engine(
    run: Callable[..., RunResult], args: argparse.Namespace, target: Target, out: Callable[[str], None], **extra: Any
) -> RunResult:
    """One engine run (up, down, status) with the stack the command line names (--athena: AWS only, see _run)."""
    return run(
        target, args.stack, args.region, out, args.state_dir, athena=args.athena, contract_path=args.contract, **extra
    )


def _dispatch(args: argparse.Namespace, target: Target, out: Callable[[str], None]) -> int:
    if args.command == "up":
        _engine(run_up, args, target, out)
    elif args.command == "plan":
        _engine(run_up, args, target, out, dry_run=True)
    elif args.command == "down":
        _engine(run_down, args, target, out)
    else:
        _engine(run_status, args, target, out)
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
    except DeployAborted as e:
        sys.stderr.write(f"bootstrap: {e}\n")
        return EXIT_ABORTED
    except (DeployError, TemplateError) as e:
        sys.stderr.write(f"bootstrap: {e}\n")
        return EXIT_FAILED
    except ClientError as e:
        operation = getattr(e, "operation_name", "a call")
        sys.stderr.write(f"bootstrap: AWS refused {operation}: {error_code(e)}\n")
        return EXIT_FAILED
    except NoCredentialsError:
        sys.stderr.write("bootstrap: no AWS credentials found; nothing was done\n")
        return EXIT_NO_CREDENTIALS
