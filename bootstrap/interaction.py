"""What the direct and the CloudFormation deploy share with the user: exit codes, the AWS identity, the question."""

from __future__ import annotations

from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from bootstrap.target import Target
from kit.aws_errors import error_code

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


def aws_identity(target: Target, region: str) -> tuple[str, str]:
    """(account id, caller ARN) from STS; a clear CliExit when there are no usable credentials."""
    try:
        identity = target.client("sts", region).get_caller_identity()
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
