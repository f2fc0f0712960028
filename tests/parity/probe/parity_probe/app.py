"""The parity suite's probe function: echoes the event API Gateway built, or returns the proxy result asked for.

Never shipped with the app: tests/parity/probe/openapi.yaml adds it (an overlay of api/openapi.yaml) on the dev
server (`--contract`) and on a stack the suite deploys it to (`python -m bootstrap up --contract ...`), so the same
cases read the same event, and get the same answers, locally and on AWS. Stdlib only, like a bare Lambda zip.
"""

from __future__ import annotations

import json
import time
from typing import Any

RESULT_RESOURCE = "/probe/result"
# Longest sleep asked for: past API Gateway's 29 s integration timeout, inside the function's own 40 s.
MAX_SLEEP_SECONDS = 35.0


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    if event.get("resource") == RESULT_RESOURCE:
        return asked_result(json.loads(event.get("body") or "{}"))
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({"event": event})}


def asked_result(ask: dict[str, Any]) -> Any:
    """The request's JSON says what to return, after `sleep` seconds:

    - `{"result": {...}}`: exactly this proxy result (statusCode, headers, multiValueHeaders, body,
      isBase64Encoded, or any other key);
    - `{"bodyBytes": N}`: a 200 whose body is N bytes of "a".
    """
    time.sleep(min(float(ask.get("sleep", 0)), MAX_SLEEP_SECONDS))
    if "bodyBytes" in ask:
        return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "a" * int(ask["bodyBytes"])}
    return ask["result"]
