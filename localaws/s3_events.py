"""S3 event notifications moto leaves out: a delete that creates a delete marker in a versioned bucket.

for parity: deleting an object of a versioned bucket without a version id creates a delete marker, and S3 sends
s3:ObjectRemoved:DeleteMarkerCreated to the bucket's matching notification configurations
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html,
"Object removal events"). moto 5 sends nothing in that case (moto/s3/models.py delete_object, versioned branch), so
a compactor fed by the lake's notifications would never hear of a deleted expense. The embedded backend calls
`after_response` once moto answered a request; it sends that one event through moto's own notification code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

log = logging.getLogger("localaws.s3_events")


def _object_of(environ: Mapping[str, Any]) -> tuple[str, str] | None:
    """(bucket, key) of a path-style object request (the kit's clients address loopback endpoints by path)."""
    path = str(environ.get("PATH_INFO", ""))
    bucket, _, key = path.lstrip("/").partition("/")
    return (unquote(bucket), unquote(key)) if bucket and key else None


def after_response(environ: Mapping[str, Any], status: int, headers: list[tuple[str, str]], account_id: str) -> None:
    """Send DeleteMarkerCreated when a DeleteObject (no versionId) answered 204 with x-amz-delete-marker: true."""
    if str(environ.get("REQUEST_METHOD", "")).upper() != "DELETE" or status != 204:
        return
    if "versionId" in parse_qs(str(environ.get("QUERY_STRING", ""))):
        return  # deleting a version (or a marker) itself: moto's own events apply
    if dict((name.lower(), value) for name, value in headers).get("x-amz-delete-marker") != "true":
        return
    target = _object_of(environ)
    if target is None:
        return
    from moto.s3 import notifications
    from moto.s3.models import s3_backends

    bucket_name, key_name = target
    try:
        bucket = s3_backends[account_id]["global"].get_bucket(bucket_name)
        marker = bucket.keys.get(key_name)
    except Exception:  # noqa: BLE001 - moto's own NoSuchBucket; nothing to notify about
        return
    if marker is None or bucket.notification_configuration is None:
        return
    event = notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT
    notifications.send_event(account_id, event, bucket, _Marker(marker))


class _Marker:
    """What moto's event builder reads of a key (name, size, eTag), for a delete marker that has none of them."""

    def __init__(self, marker: Any) -> None:
        self.name = str(marker.name)
        self.size = 0
        self.etag = ""
        self.version_id = getattr(marker, "version_id", None)
