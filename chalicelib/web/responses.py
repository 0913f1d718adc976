"""HTTP plumbing shared by the routes: responses, body parsing, and turning errors into answers.

Browser routes answer small HTML pages; API routes answer
`{"error": {"code", "message"}}`. Neither ever shows a stack trace or AWS/Stripe internals.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from chalice import Response

from chalicelib.errors import BadRequest, StoreError
from chalicelib.web.security import page_policy

logger = logging.getLogger("bull")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
BODY_TYPES = [FORM, JSON, "multipart/form-data", "text/plain"]
MAX_FORM_BYTES = 16 * 1024
HTML_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}
NO_STORE = {"Cache-Control": "no-store"}


def html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An HTML page with the store's security headers (a page may bring its own policy)."""
    policy = {"Content-Security-Policy": page_policy(settings_or_none())}
    return Response(
        body=body, status_code=status, headers={**HTML_HEADERS, **policy, **(headers or {})}
    )


def settings_or_none() -> Any:
    """The store's settings, or None when they do not load."""
    from chalicelib.platform.config import ConfigError, get_settings

    try:
        return get_settings()
    except ConfigError:  # an error page must render even when settings do not load
        return None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def redirect(location: str, status: int = 303) -> Response:
    return Response(body="", status_code=status, headers={"Location": location, **NO_STORE})


def json_error(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status)


def html_error(status: int, title: str, message: str, **context: Any) -> Response:
    from chalicelib.web.pages import render

    page = render("error.html", status=status, title=title, message=message, **context)
    return html(page, status, NO_STORE)


TITLES = {
    400: "That request could not be read",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Not yet",
    410: "This link no longer works",
    405: "Not allowed here",
    413: "Too large",
    415: "That request could not be read",
    429: "Too many requests",
    500: "Something went wrong",
    502: "Payment provider unavailable",
    503: "Temporarily unavailable",
}


def page_base(request: Any) -> str:
    """The absolute base URL that served `request` (see `chalicelib.web.base_url`)."""
    from chalicelib.platform.config import get_settings
    from chalicelib.web.base_url import page_url

    return page_url(request, get_settings().site_url) if request is not None else ""


def _error_boundary(
    answer: Callable[[StoreError, Any], Response],
    unexpected: Callable[[Any], Response],
    answers_html: bool,
    current_request: Callable[[], Any],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator that turns domain errors into `answer(exc, request)` and anything else into
    `unexpected(request)`, logging what the caller must not see. It marks the route as
    answering HTML or JSON, which `framework_errors` reads."""

    def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except StoreError as exc:
                if exc.status >= 500:
                    logger.warning("%s: %s (%s)", handler.__name__, exc.message, exc.__cause__)
                response = answer(exc, current_request())
                if getattr(exc, "retry_after", None):  # 429: when the client may ask again
                    response.headers["Retry-After"] = str(exc.retry_after)
                return response
            except Exception as exc:
                logger.exception("unhandled error: %s", type(exc).__name__)
                return unexpected(current_request())

        wrapped.answers_html = answers_html  # type: ignore[attr-defined]
        return wrapped

    return decorator


def _json_answer(exc: StoreError) -> Response:
    return json_error(exc.status, exc.code, exc.message)


def _html_answer(exc: StoreError, request: Any) -> Response:
    title = TITLES.get(exc.status, TITLES[500])
    return html_error(exc.status, title, exc.message, base=_safe_base(request))


def _safe_base(request: Any) -> str:
    try:
        return page_base(request)
    except Exception:  # an error page must render even when settings do not load
        return ""


def error_boundaries(
    current_request: Callable[[], Any],
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """`(browser_route, api_route)`: decorators that turn a route's errors into small HTML
    pages (linking under the base URL that served them) or into JSON errors."""
    browser_route = _error_boundary(
        _html_answer,
        lambda request: html_error(
            500, TITLES[500], "Please try again in a minute.", base=_safe_base(request)
        ),
        answers_html=True,
        current_request=current_request,
    )
    api_route = _error_boundary(
        lambda exc, _request: _json_answer(exc),
        lambda _request: json_error(
            500, "internal_error", "Something went wrong. Please try again."
        ),
        answers_html=False,
        current_request=current_request,
    )
    return browser_route, api_route


def read_fields(raw_body: bytes | None, content_type: str | None) -> dict[str, Any]:
    """Read a small form or JSON body into a dict; no body at all gives `{}`.

    Raises:
        BadRequest: the body cannot be read (too large, not UTF-8, malformed, not an object).
    """
    body = raw_body or b""
    if not body.strip():
        return {}
    if len(body) > MAX_FORM_BYTES:
        raise BadRequest("request body is too large", code="body_too_large")
    kind = (content_type or JSON).split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 text") from None
    if kind == JSON:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # deeply nested arrays exhaust the parser
            raise BadRequest("request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("request body must be a JSON object")
        return data
    if kind == FORM:
        try:
            pairs = parse_qs(text, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise BadRequest("request body is not a valid form") from None
        return {key: values[-1] for key, values in pairs.items()}
    raise BadRequest("send the fields as a form or as JSON")


def is_form(request: Any) -> bool:
    """The request carries an HTML form's body (what a browser's form posts), not JSON."""
    kind = (header(request, "content-type") or "").split(";")[0].strip().lower()
    return kind in (FORM, "multipart/form-data")


def header(request: Any, name: str) -> str | None:
    """A request header, case-insensitively (Chalice's headers are case-insensitive)."""
    return request.headers.get(name) if request.headers else None


def client_ip(request: Any) -> str:
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "")


FRAMEWORK_ERRORS = {
    405: ("method_not_allowed", "This address does not take that kind of request."),
    415: ("unsupported_media_type", "Send the fields as a form or as JSON."),
}


def framework_errors(routes: dict[str, dict[str, Any]]) -> Callable[..., Response]:
    """Middleware for Chalice's own answers to an unsupported method or media type (given as
    `{"Code", "Message"}` before any route runs): the store's shapes instead, HTML where the
    path's routes answer HTML (`browser_route`), else `{"error"}`."""

    def middleware(request: Any, get_response: Callable[[Any], Response]) -> Response:
        response = get_response(request)
        if response.status_code not in FRAMEWORK_ERRORS:
            return response
        return _framework_answer(response, routes.get(getattr(request, "path", ""), {}), request)

    return middleware


def _framework_answer(response: Response, entries: dict[str, Any], request: Any) -> Response:
    code, message = FRAMEWORK_ERRORS[response.status_code]
    if any(getattr(e.view_function, "answers_html", False) for e in entries.values()):
        title = TITLES[response.status_code]
        answer = html_error(response.status_code, title, message, base=_safe_base(request))
    else:
        answer = json_error(response.status_code, code, message)
    if "Allow" in (response.headers or {}):
        answer.headers["Allow"] = response.headers["Allow"]
    return answer
