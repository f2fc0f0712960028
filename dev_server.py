"""`make dev`: the expense tracker offline - API Gateway + Cognito + Lambda + DynamoDB + S3 on your machine."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from devserver.config import CONTRACT_PATH, DYNAMODB_LOCAL, DYNAMODB_MOTO, EMBEDDED, SPLIT_SERVICES, DevOptions
from devserver.hosts import exposure_warning
from devserver.httpserver import PortInUseError
from kit.contract import MAX_BATCH_WINDOW_SECONDS


def parse_args(argv: list[str] | None = None) -> DevOptions:
    parser = argparse.ArgumentParser(
        prog="python dev_server.py",
        description="Run the expense tracker locally: the real Lambda handlers behind an API Gateway emulation "
        "with real Cognito JWT checks, a local Cognito (SRP, confirmation codes in a mailbox), the frontend, "
        "DynamoDB on AWS's DynamoDB Local and S3 on moto. Prints the URLs when ready; Ctrl-C stops it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--allowed-host",
        action="append",
        dest="allowed_hosts",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host is NAME (repeatable; loopback names and --host always are; "
        "others get 403, against DNS rebinding)",
    )
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0 = any free)")
    parser.add_argument(
        "--backend",
        default=EMBEDDED,
        help="'embedded' (default: moto inside this process, state saved under --state-dir) or the URL of a moto "
        "server or LocalStack, e.g. http://127.0.0.1:4566 (provisioned by `python -m bootstrap up`)",
    )
    parser.add_argument("--state-dir", type=Path, default=Path(".devstate"), help="saved state (default .devstate/)")
    parser.add_argument("--stack", default="dev", help="stack name; every resource name derives from it (default dev)")
    parser.add_argument("--region", default="us-east-1", help="AWS region to emulate (default us-east-1)")
    parser.add_argument("--reset", action="store_true", help="wipe the saved state before starting")
    parser.add_argument(
        "--demo", action="store_true", help="create user 'demo' (password Demo123!) with months of sample expenses"
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        metavar="ORIGIN",
        help="allowed CORS origin (repeatable; default from the API contract: *)",
    )
    parser.add_argument(
        "--local-cognito",
        action="store_true",
        help="with --backend URL: serve Cognito and CloudFront from an embedded moto (automatic for LocalStack, "
        "whose free tier has neither)",
    )
    parser.add_argument(
        "--cognito-endpoint",
        metavar="URL",
        help="with --backend URL: Cognito and CloudFront are at this other endpoint (e.g. a moto server)",
    )
    parser.add_argument(
        "--dynamodb",
        metavar="local|moto|URL",
        help="what serves DynamoDB: 'local' (default with the embedded backend: AWS's DynamoDB Local, needs Java "
        "17+; without it the start says so and moto serves DynamoDB), 'moto' (the embedded moto), or the URL of a "
        "running DynamoDB endpoint. With --backend URL the default is that backend's own DynamoDB",
    )
    parser.add_argument("--no-reload", action="store_true", help="disable hot reload of handler code")
    parser.add_argument(
        "--throttle",
        action="store_true",
        help="apply the deployed stage's throttling (50 req/s, burst 100): 429 Too Many Requests, as on AWS",
    )
    parser.add_argument(
        "--no-iam",
        action="store_true",
        help="do not enforce the functions' IAM roles (every AWS call a function makes is then allowed, unlike AWS)",
    )
    parser.add_argument(
        "--contract",
        type=Path,
        default=CONTRACT_PATH,
        metavar="FILE",
        help="the API contract (default api/openapi.yaml), or an overlay adding operations and functions to it, "
        "e.g. tests/parity/probe/openapi.yaml (the parity suite's probe function)",
    )
    parser.add_argument(
        "--integration-timeout",
        type=float,
        metavar="SECONDS",
        help="API Gateway's integration timeout (default AWS's 29 s; lower it only to test the 504 quickly)",
    )
    parser.add_argument(
        "--trigger-window",
        type=float,
        metavar="SECONDS",
        help="batch window of the lake trigger's poller, replacing the contract's batchWindow (default: the "
        "contract's, as the deployed event source mapping has it)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if args.trigger_window is not None and not 0 <= args.trigger_window <= MAX_BATCH_WINDOW_SECONDS:
        parser.error(f"--trigger-window must be from 0 to {MAX_BATCH_WINDOW_SECONDS} seconds (Lambda's limit)")
    if args.dynamodb is not None and args.dynamodb not in (DYNAMODB_LOCAL, DYNAMODB_MOTO):
        if not args.dynamodb.startswith(("http://", "https://")):
            parser.error("--dynamodb must be local, moto or an http(s):// URL")
    elif args.dynamodb is not None and args.backend != EMBEDDED:
        parser.error(f"--dynamodb {args.dynamodb} goes with the embedded backend; with --backend give a URL")
    if args.integration_timeout is not None and not 0 < args.integration_timeout <= 29:
        parser.error("--integration-timeout must be over 0 and at most 29 (API Gateway's limit)")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return DevOptions(
        host=args.host,
        port=args.port,
        backend=args.backend,
        state_dir=args.state_dir,
        stack=args.stack,
        region=args.region,
        reset=args.reset,
        demo=args.demo,
        cors_origins=tuple(args.cors_origins) if args.cors_origins else None,
        allowed_hosts=tuple(args.allowed_hosts),
        hot_reload=not args.no_reload,
        throttle=args.throttle,
        iam=not args.no_iam,
        local_services=SPLIT_SERVICES if args.local_cognito else (),
        split_endpoint=args.cognito_endpoint,
        dynamodb=args.dynamodb,
        contract_path=args.contract,
        integration_timeout=args.integration_timeout,
        trigger_window=args.trigger_window,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    # Whatever this process writes (state files of every part, DynamoDB Local's too) is readable by its owner only.
    os.umask(0o077)
    warning = exposure_warning(options.host, options.port, options.allowed_hosts)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    early = None
    if options.embedded and options.dynamodb in (None, DYNAMODB_LOCAL) and not options.reset:
        # DynamoDB Local's JVM starts now and gets ready while the imports below run (about a second).
        from localaws.dynamodb_local import launch_early

        early = launch_early(options.backend_dir)
    try:
        return _run(options, early)
    finally:
        if early is not None:
            early.stop()  # already stopped with the backend, unless the start failed before it


def _run(options: DevOptions, early: object) -> int:
    from devserver.cognito import StateCorrupted
    from devserver.runner import DevServer
    from localaws import BackendUnavailableError, DynamoDBLocalError, StateCorruptedError

    server = DevServer(options)
    server.dynamodb_local = early

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # SIGTERM stops it like Ctrl-C, at any moment: during the start too, and between "ready" and serving (a
    # harness that stops the server as soon as it answers sends it exactly then). Whatever part had started is
    # stopped in the `finally`, so no thread of it keeps the process alive.
    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            server.start()
        except PortInUseError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        except (StateCorruptedError, StateCorrupted) as e:
            print(f"error: saved state is damaged: {e}", file=sys.stderr)
            return 3
        except (BackendUnavailableError, DynamoDBLocalError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 4
        print("\nExpense tracker dev server is ready:", flush=True)
        for name, url in server.urls().items():
            print(f"  {name:<17} {url}", flush=True)
        print("Press Ctrl-C to stop.\n", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        server.stop()
    print("stopped; state saved in", options.state_dir, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
