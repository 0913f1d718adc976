"""What the dashboard page may load and talk to: its nonce, its Content-Security-Policy.

The page runs one script, `static/dashboard.js`, loaded with the page's nonce; nothing inline
runs. It talks to the store (`'self'`), to Cognito and to the bucket's presigned uploads.
"""

from __future__ import annotations

import secrets
from typing import Any


def new_nonce() -> str:
    """A fresh nonce for one page view (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def cognito_url(settings: Any) -> str:
    """Where the dashboard's sign-in calls go: Cognito's JSON API (moto's when local)."""
    return settings.aws_endpoint_url or f"https://cognito-idp.{settings.region}.amazonaws.com/"


def upload_origins(settings: Any) -> str:
    """Where the dashboard PUTs product files (presigned S3 URLs)."""
    if settings.aws_endpoint_url:
        return settings.aws_endpoint_url.rstrip("/")
    bucket, region = settings.bucket, settings.region
    return f"https://{bucket}.s3.{region}.amazonaws.com https://{bucket}.s3.amazonaws.com"


def dashboard_policy(settings: Any, nonce: str) -> str:
    """The dashboard's CSP: only scripts carrying `nonce`, calls only to the store, Cognito and
    the upload origins, no framing, no `<base>`, forms only to the store."""
    return (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        f"connect-src 'self' {cognito_url(settings)} {upload_origins(settings)}; "
        "img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def dashboard_headers(settings: Any, nonce: str) -> dict[str, str]:
    """The page's own headers (beside the HTML ones): never cached, the policy above."""
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": dashboard_policy(settings, nonce),
    }
