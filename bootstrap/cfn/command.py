"""The command-line side of the CloudFormation path: `template`, and `up|down --target aws --deploy cfn`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bootstrap.cfn.deploy import DeployOptions, deploy, destroy
from bootstrap.cfn.template import build_template, render
from bootstrap.engine import context_for
from bootstrap.interaction import EXIT_MISSING_SETTINGS, EXIT_OK, CliExit, aws_identity, confirm
from bootstrap.target import Target

PATH_NAME = "CloudFormation path (--deploy cfn)"


def write_template(args: argparse.Namespace, stdout: TextIO) -> int:
    """Prints the template, or writes it to --out."""
    text = render(build_template(args.stack, athena=args.athena), args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        stdout.write(f"template for stack {args.stack} written to {args.out} ({len(text)} bytes)\n")
    else:
        stdout.write(text)
    return EXIT_OK


def run(args: argparse.Namespace, out: Callable[[str], None], stdin: TextIO, stdout: TextIO) -> int:
    """up / down through CloudFormation; refuses local targets and missing credentials, naming this path."""
    if args.target != "aws":
        raise CliExit(
            EXIT_MISSING_SETTINGS,
            f"the {PATH_NAME} deploys to AWS only (--target aws): moto's CloudFormation skips Cognito pools, "
            "authorizers, bucket policies and CloudFront, so local targets use the direct path",
        )
    if args.command not in ("up", "down"):
        raise CliExit(EXIT_MISSING_SETTINGS, f"the {PATH_NAME} runs up and down; `{args.command}` is direct only")
    target = Target.aws(profile=args.profile)
    try:
        account, caller = aws_identity(target, args.region)
    except CliExit as e:
        raise CliExit(e.code, f"{PATH_NAME}: {e.message}") from e
    out(f"AWS account {account} as {caller}, region {args.region}, stack {args.stack} ({PATH_NAME})")
    ctx = context_for(target, args.stack, args.region, args.state_dir, athena=args.athena)
    options = DeployOptions(
        yes=args.yes, domain=args.domain, certificate_arn=args.certificate_arn, quicksight=args.quicksight
    )

    def ask(question: str) -> bool:
        return confirm(question, stdin, stdout)

    if args.command == "up":
        deploy(ctx, options, out, ask)
    else:
        destroy(ctx, options, out, ask)
    return EXIT_OK
