"""The dev server's /_dev/dashboard: the local operator dashboard as a Flask blueprint (loopback clients only)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, request

from devserver.dashboard.refresh import LakeRefresher, LakeState, ReadFailure
from quicksight.lake import LakeCache, LakeReader, LakeSnapshot
from quicksight.limits import ImportLimitError
from quicksight.manifest import MANIFEST_KEY, ManifestError
from quicksight.render import (
    ChartJsMissing,
    DashboardData,
    LiveStatus,
    dashboard_data,
    page_context,
    render_dashboard,
    render_progress,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_USER_ID = 128  # Cognito usernames are at most 128 characters
DEFAULT_WAIT_SECONDS = 5.0  # how long a page waits for a read expected to be quick before showing the previous one
# Sizes, not file counts: the compacted lake has a few files of up to 1 GB each (bench/lake_read.py measures ~10-20 MB/s
# of compacted files read and parsed through the embedded backend).
FRESH_LAKE_BYTES = 8_000_000  # up to this much a visit waits for a fresh read (~25,000 expenses, well under 1 s)
QUICK_READ_SECONDS = 1.0  # a larger lake whose last read took longer is shown from that read at once, refreshed behind
STALE_WAIT_SECONDS = 0.1  # ... after this short wait (enough when only a few files changed)
LARGE_READ_BYTES = 32_000_000  # more than this to fetch (~100,000 expenses, seconds on the embedded backend): no wait
FRESH_WAIT_SECONDS = 120.0  # ?fresh=1: wait for the read that includes everything written so far
STATUS_PATH = "/_dev/dashboard/status"
NO_STORE = {"Cache-Control": "no-store"}


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"message": message}), status


def _failure_message(bucket: str, failure: ReadFailure) -> str:
    if isinstance(failure, ImportLimitError):
        # The listing alone shows it (no file is read): QuickSight's import of this manifest would fail too.
        return f"QuickSight would refuse to import this lake, so the dashboard does not read it: {failure.message}"
    if isinstance(failure, ManifestError):
        return f"The data lake cannot be read through its manifest: {failure.message}"
    return f"The data lake bucket {bucket} cannot be read ({failure.code})."


def dashboard_blueprint(
    s3_client_factory: Callable[[], S3Client],
    bucket_getter: Callable[[], str],
    *,
    cache_path: Callable[[str], Path] | None = None,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
) -> Blueprint:
    """GET /_dev/dashboard[?userId=...][&fresh=1] and GET /_dev/dashboard/status.

    One LakeRefresher per bucket lives as long as the blueprint. Its reader's ETag cache means a reload reads only
    the files that changed; its background read means a page waits at most `wait_seconds`, and not at all for a
    large lake whose reads are slow (the previous read is shown, and the page offers the new one when it lands).
    With `cache_path` (bucket -> file, e.g. StateLayout.lake_cache), parsed files are also saved there, so a
    restarted dev server starts warm.
    """
    blueprint = Blueprint("quicksight_dashboard", __name__)
    refreshers: dict[str, LakeRefresher] = {}
    computed: dict[str, tuple[LakeSnapshot, DashboardData]] = {}
    lock = threading.Lock()

    def refresher_for(bucket: str) -> LakeRefresher:
        with lock:
            if bucket not in refreshers:
                path = cache_path(bucket) if cache_path is not None else None
                reader = LakeReader(s3_client_factory(), bucket, cache_path=path)
                refreshers[bucket] = LakeRefresher(reader, initial=_saved_snapshot(bucket, reader.cache, path))
            return refreshers[bucket]

    def data_for(bucket: str, snapshot: LakeSnapshot) -> DashboardData:
        """The aggregated views of a snapshot, computed once however many visits show it."""
        with lock:
            kept = computed.get(bucket)
        if kept is not None and kept[0].signature == snapshot.signature:  # a refresh that found nothing changed
            return kept[1]
        data = dashboard_data(snapshot.rows)
        with lock:
            computed[bucket] = (snapshot, data)
        return data

    def refuse_remote() -> tuple[Response, int] | None:
        if _is_loopback(request.remote_addr):
            return None
        return _error(403, "The operator dashboard shows every user's data and is served to loopback clients only.")

    @blueprint.get("/_dev/dashboard")
    def dashboard() -> Response | tuple[Response, int]:
        if (refused := refuse_remote()) is not None:
            return refused
        user_id = request.args.get("userId") or None
        if user_id is not None and (len(user_id) > MAX_USER_ID or not user_id.isprintable()):
            return _error(400, f"userId must be 1-{MAX_USER_ID} printable characters.")
        fresh = request.args.get("fresh")
        if fresh not in (None, "", "0", "1"):
            return _error(400, "fresh must be 1 (wait for a read that includes every write so far) or 0.")
        bucket = bucket_getter()
        refresher = refresher_for(bucket)
        if fresh == "1":
            state = refresher.request(FRESH_WAIT_SECONDS)
        else:
            state = refresher.request(_page_wait(refresher.state(), wait_seconds), give_up=_large_read)
        if state.answered and state.error is not None:
            return _failure(bucket, state.error)
        manifest_uri = f"s3://{bucket}/{MANIFEST_KEY}"
        snapshot = state.snapshot
        if snapshot is None or state.read_at is None:  # the first read of a large lake is still running
            page = render_progress(bucket, manifest_uri, state.progress)
            return Response(page, mimetype="text/html", headers=NO_STORE)
        context = page_context(snapshot)
        live = LiveStatus(state.generation, state.read_at, stale=not state.fresh, status_url=STATUS_PATH)
        try:
            page = render_dashboard(
                snapshot.rows, context, selected_user=user_id, live=live, data=data_for(bucket, snapshot)
            )
        except ChartJsMissing as e:
            return _error(503, str(e))
        return Response(page, mimetype="text/html", headers=NO_STORE)

    @blueprint.get(STATUS_PATH)
    def status() -> Response | tuple[Response, int]:
        if (refused := refuse_remote()) is not None:
            return refused
        bucket = bucket_getter()
        response = jsonify(_status_json(bucket, refresher_for(bucket).state()))
        response.headers.update(NO_STORE)
        return response

    return blueprint


def _failure(bucket: str, failure: ReadFailure) -> tuple[Response, int]:
    response, status = _error(503, _failure_message(bucket, failure))
    response.headers.update(NO_STORE)
    return response, status


def _page_wait(state: LakeState, wait_seconds: float) -> float:
    """Wait for a fresh read when the lake is small or reads are quick; otherwise answer at once from the last read.

    Small lakes (the usual dev stack, and every test) therefore always show every write made before the visit.
    """
    snapshot, last = state.snapshot, state.last_read_seconds
    if snapshot is None:
        return wait_seconds  # nothing to show yet; `_large_read` cuts this short for a big first read
    if snapshot.listed_bytes <= FRESH_LAKE_BYTES or (last is not None and last <= QUICK_READ_SECONDS):
        return wait_seconds
    return min(wait_seconds, STALE_WAIT_SECONDS)


def _large_read(state: LakeState) -> bool:
    """The running read has more bytes to fetch than a page should wait for: answer with what there is."""
    progress = state.progress
    if progress is None:
        return False
    if progress.phase == "listing":  # nothing cached yet (else there would be a snapshot): every file is a fetch
        return state.snapshot is None and progress.listed_bytes > LARGE_READ_BYTES
    return progress.bytes_to_fetch - progress.bytes_fetched > LARGE_READ_BYTES


def _saved_snapshot(bucket: str, cache: LakeCache, path: Path | None) -> tuple[LakeSnapshot, dt.datetime] | None:
    """What the saved cache held at the last read, shown (as stale) until this server's first read lands."""
    files = cache.files(bucket)
    if path is None or not files:
        return None
    try:
        saved_at = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except OSError:
        return None
    size = sum(f.size for f in files)
    snapshot = LakeSnapshot(bucket=bucket, locations=[], files=files, listed=len(files), fetched=0, listed_bytes=size)
    return snapshot, saved_at


def _status_json(bucket: str, state: LakeState) -> dict[str, object]:
    progress = state.progress
    return {
        "bucket": bucket,
        "generation": state.generation,
        "readAt": state.read_at.isoformat() if state.read_at else None,
        "files": state.snapshot.listed if state.snapshot else None,
        "rows": len(state.snapshot.rows) if state.snapshot else None,
        "lastReadSeconds": None if state.last_read_seconds is None else round(state.last_read_seconds, 3),
        "refreshing": state.refreshing,
        "progress": None
        if progress is None
        else {
            "phase": progress.phase,
            "listed": progress.listed,
            "toFetch": progress.to_fetch,
            "fetched": progress.fetched,
            "bytesToFetch": progress.bytes_to_fetch,
            "bytesFetched": progress.bytes_fetched,
        },
        "error": None if state.error is None else _failure_message(bucket, state.error),
    }
