"""The dev server's /_dev/dashboard: the local operator dashboard as a Flask blueprint (loopback clients only)."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, request

from quicksight.lake import LakeError, LakeReader
from quicksight.manifest import MANIFEST_KEY, ManifestError
from quicksight.render import ChartJsMissing, PageContext, render_dashboard

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_USER_ID = 128  # Cognito usernames are at most 128 characters


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"message": message}), status


def dashboard_blueprint(s3_client_factory: Callable[[], S3Client], bucket_getter: Callable[[], str]) -> Blueprint:
    """GET /_dev/dashboard[?userId=...]: every user's expenses read through the lake manifest, as HTML.

    One LakeReader (and its ETag cache) per bucket lives as long as the blueprint, so a reload reads only the
    objects that changed.
    """
    blueprint = Blueprint("quicksight_dashboard", __name__)
    readers: dict[str, LakeReader] = {}
    lock = threading.Lock()

    def reader_for(bucket: str) -> LakeReader:
        with lock:
            if bucket not in readers:
                readers[bucket] = LakeReader(s3_client_factory(), bucket)
            return readers[bucket]

    @blueprint.get("/_dev/dashboard")
    def dashboard() -> Response | tuple[Response, int]:
        if not _is_loopback(request.remote_addr):
            return _error(403, "The operator dashboard shows every user's data and is served to loopback clients only.")
        user_id = request.args.get("userId") or None
        if user_id is not None and (len(user_id) > MAX_USER_ID or not user_id.isprintable()):
            return _error(400, f"userId must be 1-{MAX_USER_ID} printable characters.")
        bucket = bucket_getter()
        try:
            snapshot = reader_for(bucket).read()
        except ManifestError as e:
            return _error(503, f"The data lake cannot be read through its manifest: {e.message}")
        except LakeError as e:
            return _error(503, f"The data lake bucket {bucket} cannot be read ({e.code}).")
        context = PageContext(
            bucket=bucket,
            manifest_uri=f"s3://{bucket}/{MANIFEST_KEY}",
            objects=snapshot.listed,
            malformed=[(o.uri, o.error or "") for o in snapshot.malformed],
            missing=snapshot.missing,
        )
        try:
            page = render_dashboard(snapshot.rows, context, selected_user=user_id)
        except ChartJsMissing as e:
            return _error(503, str(e))
        return Response(page, mimetype="text/html", headers={"Cache-Control": "no-store"})

    return blueprint
