"""Flask shells for the local Cognito endpoint (with the CORS a browser needs) and for the dev mailbox page."""

from __future__ import annotations

import html

from flask import Blueprint, Response, jsonify, request

from devserver.cognito.dispatch import LocalCognito
from devserver.cognito.mailbox import Mailbox
from devserver.cognito.sigv4 import HttpRequest
from devserver.cognito.wire import MAX_BODY_BYTES

# for parity: what amazon-cognito-identity-js sends, and what AWS lets a page read back.
CORS_ALLOW_HEADERS = "content-type, x-amz-target, x-amz-user-agent, cache-control, authorization, x-amz-date"
CORS_EXPOSE_HEADERS = "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date"


def _cors_headers() -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers") or CORS_ALLOW_HEADERS,
        "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS,
        "Access-Control-Max-Age": "86400",
    }


def cognito_blueprint(layer: LocalCognito) -> Blueprint:
    """POST (and the OPTIONS preflight) on `/cognito/`: the Cognito user pools JSON API, answered locally."""
    blueprint = Blueprint("local_cognito", __name__)

    @blueprint.route("/cognito/", methods=["POST", "OPTIONS"], strict_slashes=False)
    def cognito_endpoint() -> Response:
        if request.method == "OPTIONS":
            # A preflight names no operation (X-Amz-Target is only in Access-Control-Request-Headers): it is
            # answered, and the actual answer then carries CORS headers only for the public operations.
            return Response(status=204, headers=_cors_headers())
        # Read at most one byte past the limit: the layer refuses the oversized body without holding all of it.
        body = request.stream.read(MAX_BODY_BYTES + 1)
        target = request.headers.get("X-Amz-Target", "")
        signed = HttpRequest(method=request.method, url=request.url, headers=dict(request.headers))
        answer = layer.handle(target, body, signed)
        # CORS only on the operations AWS serves to browsers without credentials: a page on another origin can
        # never read an admin operation's answer (and cannot sign one: it has no kit credentials).
        cors = _cors_headers() if layer.is_public(target) else {}
        return Response(answer.body, status=answer.status, headers={**answer.headers, **cors})

    @blueprint.get("/cognito/<pool_id>/.well-known/jwks.json")
    def pool_jwks(pool_id: str) -> Response:
        # The pool's JWKS, where AWS serves it (cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/
        # jwks.json) under the local endpoint; public, like AWS's, and readable by any origin (public keys).
        answer = layer.jwks(pool_id)
        return Response(
            answer.body, status=answer.status, headers={**answer.headers, "Access-Control-Allow-Origin": "*"}
        )

    return blueprint


def _wants_json() -> bool:
    if request.args.get("format") == "json":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _mailbox_page(mailbox: Mailbox) -> str:
    rows = []
    for message in reversed(mailbox.messages()):
        cells = [message.get(key) for key in ("sentAt", "kind", "to", "username", "code", "poolId")]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c or ''))}</td>" for c in cells) + "</tr>")
    body = "\n".join(rows) or '<tr><td colspan="6">No messages yet: sign up to receive a code.</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local mailbox</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}td:nth-child(5){{font:bold 1.2em monospace}}</style>
</head><body><h1>Local mailbox</h1>
<p>Messages the local Cognito would have e-mailed, newest first. JSON: <a href="?format=json">?format=json</a>.</p>
<table><thead><tr><th>Sent</th><th>Kind</th><th>To</th><th>Username</th><th>Code</th><th>Pool</th></tr></thead>
<tbody>
{body}
</tbody></table></body></html>
"""


def mailbox_blueprint(mailbox: Mailbox) -> Blueprint:
    """GET `/_dev/mailbox`: the messages as JSON (Accept or ?format=json) or as a small HTML page."""
    blueprint = Blueprint("dev_mailbox", __name__)

    @blueprint.get("/_dev/mailbox")
    def mailbox_page() -> Response:
        if _wants_json():
            return jsonify(mailbox.messages())
        return Response(_mailbox_page(mailbox), mimetype="text/html")

    return blueprint
