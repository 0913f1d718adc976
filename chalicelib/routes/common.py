"""What every route shares: the blueprint they are registered on, the error boundaries (HTML
pages for browser routes, `{"error"}` JSON for API routes), the admin check, and the base URLs
a route links under."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Blueprint

from chalicelib import store
from chalicelib.admin.auth import gateway_authorizer
from chalicelib.web.base_url import public_url
from chalicelib.web.pages import render
from chalicelib.web.responses import (
    client_ip,
    error_boundaries,
    header,
    page_base,
    read_fields,
)

bp = Blueprint(__name__)
ADMIN_AUTHORIZER = gateway_authorizer()
browser_route, api_route = error_boundaries(lambda: bp.current_request)


def admin_only(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Run `handler` only for a signed-in admin (401 / 403 JSON otherwise)."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        store.current().verifier.admin(header(bp.current_request, "authorization"))
        return handler(*args, **kwargs)

    return api_route(wrapped)


def limited(route: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Count each request against the client's limit for `route` (see
    `chalicelib.platform.limits`) before `handler` runs; put it under the error boundary, which
    answers `RateLimited` with 429 and `Retry-After`."""

    def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            store.current().limiter.take(route, client_ip(bp.current_request))
            return handler(*args, **kwargs)

        return wrapped

    return decorator


def page(template: str, **context: Any) -> str:
    """A page whose links, forms and script calls stay under the base URL that served it."""
    return render(template, base=page_base(bp.current_request), **context)


def public_base() -> str:
    """The base URL for mails and Stripe redirects (`SITE_URL`, else API Gateway's)."""
    return public_url(bp.current_request, store.current().settings.site_url)


def json_fields() -> dict[str, Any]:
    request = bp.current_request
    return read_fields(request.raw_body, header(request, "content-type"))
