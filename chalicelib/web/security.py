"""What the store's pages may load and talk to: their Content-Security-Policy.

Buyer pages run no script at all; their forms post to the store, which redirects to Stripe's
Checkout or to a presigned download from the bucket. The dashboard runs one script,
`static/dashboard.js`, loaded with the page's nonce; nothing inline runs. It talks to the store
(`'self'`), to Cognito and to the bucket's presigned uploads.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit


def new_nonce() -> str:
    """A fresh nonce for one page view (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def cognito_url(settings: Any) -> str:
    """Where the dashboard's sign-in calls go: Cognito's JSON API (moto's when local)."""
    return settings.aws_endpoint_url or f"https://cognito-idp.{settings.region}.amazonaws.com/"


def bucket_origins(settings: Any) -> str:
    """Where presigned S3 URLs point: the dashboard's uploads, the buyers' downloads."""
    if settings.aws_endpoint_url:
        return settings.aws_endpoint_url.rstrip("/")
    bucket, region = settings.bucket, settings.region
    return f"https://{bucket}.s3.{region}.amazonaws.com https://{bucket}.s3.amazonaws.com"


def checkout_origin(settings: Any) -> str:
    """Where Stripe Checkout's pages are (the local stand-in's when it plays Stripe)."""
    if settings.stripe_api_base:
        parts = urlsplit(settings.stripe_api_base)
        return f"{parts.scheme}://{parts.netloc}"
    return "https://checkout.stripe.com"


def page_policy(settings: Any | None) -> str:
    """A buyer page's CSP: no script, inline styles, forms only to the store and the places
    it redirects them (Chromium applies `form-action` to the redirect too)."""
    targets = f" {checkout_origin(settings)} {bucket_origins(settings)}" if settings else ""
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        f"form-action 'self'{targets}; frame-ancestors 'none'; base-uri 'none'"
    )


def dashboard_policy(settings: Any, nonce: str) -> str:
    """The dashboard's CSP: only scripts carrying `nonce`, calls only to the store, Cognito and
    the upload origins, no framing, no `<base>`, forms only to the store."""
    return (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        f"connect-src 'self' {cognito_url(settings)} {bucket_origins(settings)}; "
        "img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def dashboard_headers(settings: Any, nonce: str) -> dict[str, str]:
    """The page's own headers (beside the HTML ones): never cached, the policy above."""
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": dashboard_policy(settings, nonce),
    }


# What any answer that is not a page may do once a browser has it: nothing (no script, no
# framing). JSON, CSV, redirects and Chalice's own errors get it.
NOT_A_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'"
EVERY_ANSWER = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def with_security_headers(response: Any, settings: Callable[[], Any]) -> Any:
    """`response` with the contract's headers added where the route set none: nosniff and no
    referrer on every answer; a CSP (a buyer page's for HTML, `NOT_A_PAGE_POLICY` otherwise);
    and `Cache-Control: no-store` on everything but a successful HTML page, since JSON, CSV,
    redirects and errors may carry a token or a buyer's data. A route's own headers win (the
    dashboard's nonce policy, static files' year-long cache). Returns the same response."""
    headers = response.headers = dict(response.headers or {})
    present = {name.lower() for name in headers}
    kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    is_page = kind.startswith("text/html")
    extra = dict(EVERY_ANSWER)
    if "content-security-policy" not in present:
        extra["Content-Security-Policy"] = page_policy(settings()) if is_page else NOT_A_PAGE_POLICY
    if not (is_page and response.status_code < 300):
        extra["Cache-Control"] = "no-store"
    headers.update({k: v for k, v in extra.items() if k.lower() not in present})
    return response


def security_headers(settings: Callable[[], Any]) -> Callable[..., Any]:
    """Chalice `http` middleware applying `with_security_headers` to every answer, the routes'
    and Chalice's own (405, 415, an unhandled error); `settings()` gives the store's settings
    or None when they do not load."""

    def middleware(request: Any, get_response: Callable[[Any], Any]) -> Any:
        return with_security_headers(get_response(request), settings)

    return middleware
