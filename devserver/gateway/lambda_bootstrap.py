"""The program each local Lambda execution environment runs: import the handler once, then serve invocations in turn.

`devserver.gateway.runtime` starts it as a process of its own, with the function's environment variables, so that
`os.environ`, module-level state and credentials belong to one function only, as in a Lambda sandbox, and one
invocation runs at a time. It is the local stand-in for the python3.12 runtime's bootstrap (awslambdaric, read at
github.com/aws/aws-lambda-python-runtime-interface-client): it imports nothing but the standard library, because it
runs on whichever interpreter the runtime chose, and it is started by path (`python -P`), so nothing of the kit is
importable through it.

Wire: two pipes whose numbers are the arguments. Each frame is one kind byte, a 4-byte big-endian length, then
JSON. The dev server sends INIT (the code path) once, then INVOKE frames; this process answers READY or INIT_ERROR,
then one RESULT or ERROR per INVOKE. End of file on the request pipe means "exit".
"""

from __future__ import annotations

import decimal
import importlib
import json
import math
import os
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

HEADER = struct.Struct(">cI")
INIT, INVOKE = b"i", b"v"  # dev server -> environment
READY, INIT_ERROR, RESULT, ERROR = b"r", b"f", b"R", b"E"  # environment -> dev server

Handler = Callable[[Any, "LambdaContext"], Any]


def frame(kind: bytes, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> tuple[bytes, bytes] | None:
    """The next frame (kind, payload), or None at end of file."""
    header = _read_exact(fd, HEADER.size)
    if header is None:
        return None
    kind, length = HEADER.unpack(header)
    payload = _read_exact(fd, length) if length else b""
    return None if payload is None else (kind, payload)


# --- the context object -------------------------------------------------------------------------------------------
# for parity: fields, types and defaults as awslambdaric's LambdaContext gives them to python3.12 handlers
# (awslambdaric/lambda_context.py; AWS docs, "Using the Lambda context object to retrieve Python function
# information"): the function's name, version, memory size and log names are read from the environment, so
# memory_limit_in_mb is a *string* ("128"), not an int; `identity` is always a CognitoIdentity (its fields None
# without one) while `client_context` is None unless the invoker sent one.


class CognitoIdentity:
    """`context.identity`: the Amazon Cognito identity of a mobile-SDK invoker (fields None otherwise)."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity: Mapping[str, Any] | None = None) -> None:
        identity = identity or {}
        self.cognito_identity_id = identity.get("cognitoIdentityId")
        self.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    """`context.client_context.client`: what a mobile SDK says about the app."""

    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")

    def __init__(self, client: Mapping[str, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, client.get(name))


class ClientContext:
    """`context.client_context`: the client context a mobile SDK sent with the invocation."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.custom = context.get("custom")
        self.env = context.get("env")
        client = context.get("client")
        self.client = Client(client) if client is not None else None


class LambdaContext:
    """The context object the Python runtime passes as the handler's second argument."""

    def __init__(
        self,
        *,
        aws_request_id: str,
        invoked_function_arn: str,
        deadline_ms: int,
        client_context: Mapping[str, Any] | None = None,
        cognito_identity: Mapping[str, Any] | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = ClientContext(client_context) if client_context is not None else None
        self.identity = CognitoIdentity(cognito_identity)
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout (an int, never negative)."""
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(str(message))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context={self.client_context},"
            f"identity={self.identity},tenant_id={self.tenant_id}])"
        )


# --- init -----------------------------------------------------------------------------------------------------------


class RuntimeFault(Exception):
    """A failure the runtime reports under its own error type (Runtime.ImportModuleError, ...)."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.payload = error_payload(error_type, message, stack or [])


def error_payload(error_type: str, message: str, stack: list[str], request_id: str = "") -> dict[str, Any]:
    # for parity: the error document the runtime posts (errorMessage, errorType, requestId, stackTrace).
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}


def _user_frames(tb: TracebackType | None) -> list[str]:
    frames = traceback.extract_tb(tb)
    while frames and frames[0].filename == __file__:  # the runtime's own frames, as awslambdaric drops them
        frames.pop(0)
    return traceback.format_list(frames)


def load_handler(handler: str) -> Handler:
    """Import the handler's module and find the function in it, failing as the python3.12 runtime does."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise RuntimeFault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': missing a module name")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise RuntimeFault(
            "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as e:
        raise RuntimeFault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}") from e
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {e.text}']
        raise RuntimeFault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}", trace) from e
    found = getattr(module, function_name, None)
    if found is None:
        raise RuntimeFault("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    handler_function: Handler = found
    return handler_function


# --- invoke ---------------------------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    # for parity: the runtime's encoder writes a Decimal as a JSON number (awslambdaric lambda_runtime_marshaller).
    if isinstance(value, decimal.Decimal):
        if value.is_nan():
            return math.nan
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def marshal(result: Any) -> bytes:
    """The response payload: bytes as they are, anything else as python3.12's runtime encodes it."""
    if isinstance(result, bytes):
        return result
    return json.dumps(result, default=_json_default, ensure_ascii=False, allow_nan=True).encode()


def invoke(handler: Handler, request: dict[str, Any]) -> bytes:
    """Run one invocation; the frame to answer with."""
    request_id = str(request["requestId"])
    # for parity: the runtime sets _X_AMZN_TRACE_ID before each invocation ("Defined runtime environment
    # variables": "This environment variable changes with each invocation"). This process is one execution
    # environment running one invocation at a time, so its own environment is the right place.
    if request.get("traceId"):
        os.environ["_X_AMZN_TRACE_ID"] = str(request["traceId"])
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    context = LambdaContext(
        aws_request_id=request_id,
        invoked_function_arn=str(request["functionArn"]),
        deadline_ms=int(request["deadlineMs"]),
        client_context=request.get("clientContext"),
        cognito_identity=request.get("cognitoIdentity"),
    )
    try:
        result = handler(request["event"], context)
    except Exception as e:  # noqa: BLE001 - any error of the handler is the runtime's to report, as on Lambda
        payload = error_payload(type(e).__name__, str(e), _user_frames(e.__traceback__), request_id)
        return frame(ERROR, json.dumps(payload).encode())
    try:
        return frame(RESULT, marshal(result))
    except (TypeError, ValueError) as e:
        payload = error_payload("Runtime.MarshalError", f"Unable to marshal response: {e}", [], request_id)
        return frame(ERROR, json.dumps(payload).encode())


def _exit_with_parent() -> None:
    """End this process if the dev server dies while a handler runs (an idle one sees end of file instead)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-dev-server", daemon=True).start()


def main(argv: list[str]) -> int:
    requests, replies = int(argv[1]), int(argv[2])
    _exit_with_parent()
    first = read_frame(requests)
    if first is None or first[0] != INIT:
        return 0
    code_path = [str(p) for p in json.loads(first[1])["path"]]
    sys.path[:0] = [p for p in code_path if p not in sys.path]
    started = time.perf_counter()
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except RuntimeFault as e:
        write_all(replies, frame(INIT_ERROR, json.dumps(e.payload).encode()))
        return 1
    except Exception as e:  # noqa: BLE001 - module-level code raised: the init phase failed with the user's error
        payload = error_payload(type(e).__name__, str(e), _user_frames(e.__traceback__))
        write_all(replies, frame(INIT_ERROR, json.dumps(payload).encode()))
        return 1
    write_all(replies, frame(READY, json.dumps({"initMs": (time.perf_counter() - started) * 1000}).encode()))
    while (message := read_frame(requests)) is not None:
        write_all(replies, invoke(handler, json.loads(message[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
