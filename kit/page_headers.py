"""The security headers of the pages the kit serves: one definition for the dev server and CloudFront's policy.

The frontend (login.html, tracker.html and their scripts) loads scripts and styles from its own origin only, talks
to the API and Cognito only, cannot be framed (clickjacking), is never MIME-sniffed, and sends no Referer. The dev
server sends these headers itself; bootstrap gives the CloudFront distribution a response headers policy with
the same values (`cloudfront_security_headers`), so AWS serves what local serves. The dev pages (mailbox,
operator dashboard) get the same framing, sniffing and referrer rules and a CSP with no script source of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CONTENT_TYPE_OPTIONS = "nosniff"
FRAME_OPTIONS = "DENY"  # for browsers without CSP frame-ancestors; CloudFront's FrameOption enum: DENY|SAMEORIGIN
REFERRER_POLICY = "no-referrer"  # the app needs no Referer anywhere; one of CloudFront's ReferrerPolicy values

# Directives a <meta> CSP cannot set, and the ones every page shares.
_FRAMING = ("frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'")


def _csp(directives: Sequence[str]) -> str:
    return "; ".join(directives)


def app_csp(connect_src: Sequence[str] = ("'self'",)) -> str:
    """The frontend's policy: no inline script or style, nothing from another origin but the API and Cognito calls.

    `connect_src`: where the app's fetches go. Locally the API (/prod/) and Cognito (/cognito/) share the page's
    origin ('self'); on AWS they are the execute-api and cognito-idp endpoints of the stack's region.
    """
    return _csp(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src {' '.join(connect_src)}",
            "form-action 'self'",
            "manifest-src 'self'",
            *_FRAMING,
        )
    )


# The mailbox: an HTML table with one inline <style> and no script at all.
DEV_PAGE_CSP = _csp(("default-src 'none'", "style-src 'unsafe-inline'", "form-action 'none'", *_FRAMING))
# The dashboard carries its own nonce-only script policy in a <meta> tag (it is also written out as a standalone
# file); a header policy is enforced together with it, so the header adds only what a <meta> policy cannot say.
DASHBOARD_CSP = _csp((*_FRAMING, "form-action 'self'"))


def _common(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": CONTENT_TYPE_OPTIONS,
        "X-Frame-Options": FRAME_OPTIONS,
        "Referrer-Policy": REFERRER_POLICY,
    }


def app_headers(connect_src: Sequence[str] = ("'self'",)) -> dict[str, str]:
    """What every frontend response carries (pages, scripts, styles, config.json)."""
    return _common(app_csp(connect_src))


def dev_page_headers() -> dict[str, str]:
    """What the /_dev/ pages other than the dashboard carry (the mailbox)."""
    return _common(DEV_PAGE_CSP)


def dashboard_headers() -> dict[str, str]:
    return _common(DASHBOARD_CSP)


def aws_connect_src(region: str) -> tuple[str, ...]:
    """The deployed app's fetch targets: its region's API Gateway and Cognito user pools endpoints."""
    return (f"https://*.execute-api.{region}.amazonaws.com", f"https://cognito-idp.{region}.amazonaws.com")


def cloudfront_security_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    """A CloudFront `SecurityHeadersConfig` carrying exactly these header values (override what S3 sends).

    for parity: the shape of ResponseHeadersPolicySecurityHeadersConfig
    (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ResponseHeadersPolicySecurityHeadersConfig.html).
    """
    return {
        "ContentSecurityPolicy": {"Override": True, "ContentSecurityPolicy": headers["Content-Security-Policy"]},
        "ContentTypeOptions": {"Override": True},
        "FrameOptions": {"Override": True, "FrameOption": headers["X-Frame-Options"]},
        "ReferrerPolicy": {"Override": True, "ReferrerPolicy": headers["Referrer-Policy"]},
    }
