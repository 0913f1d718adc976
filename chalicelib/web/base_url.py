"""The store's base URL: where a request was served, and where mails and Stripe send people.

API Gateway serves the store under a base path: the stage on its default URL
(`https://{api}.execute-api.{region}.amazonaws.com/api`), a base-path mapping on a custom domain,
nothing under `chalice local`. The request's `requestContext.path` is the full path the client
asked for and `resourcePath` is the route it matched; whatever `path` has in front of the route's
own segments is the base path.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from chalicelib.platform.config import ConfigError

_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def base_path(context: dict[str, Any], route: str) -> str:
    """The path in front of `route` in the request's full path: `/api`, `/shop` or ``."""
    full = [s for s in str(context.get("path") or "").split("/") if s]
    own = [s for s in str(context.get("resourcePath") or route or "").split("/") if s]
    prefix = full[: max(len(full) - len(own), 0)]
    return "".join("/" + quote(segment, safe="-._~") for segment in prefix)


def page_url(request: Any, site_url: str = "") -> str:
    """The absolute base URL that served `request`: pages link, post and fetch under it.

    Behind API Gateway the host is `requestContext.domainName`; under `chalice local`, which
    has none, the `Host` the page was asked on (the page goes back to that same client).
    """
    origin = _gateway_origin(request, proto_from_client=True)
    if origin is None:
        host = str(_headers(request).get("host") or "")
        origin = f"http://{host}" if _HOST.match(host) else ""
    if not origin:
        return site_url
    return origin + base_path(request.context or {}, getattr(request, "path", ""))


def public_url(request: Any, site_url: str) -> str:
    """The base URL in e-mails and Stripe redirects: `SITE_URL`, else API Gateway's domain
    and base path (set by API Gateway, never a header the client chose; always https).

    Raises:
        ConfigError: no `SITE_URL` and the request did not come through API Gateway.
    """
    if site_url:
        return site_url
    origin = _gateway_origin(request, proto_from_client=False)
    if origin is None:
        raise ConfigError("SITE_URL is not set and the request did not come through API Gateway")
    return origin + base_path(request.context or {}, getattr(request, "path", ""))


def _gateway_origin(request: Any, *, proto_from_client: bool) -> str | None:
    domain = str((request.context or {}).get("domainName") or "")
    if not _HOST.match(domain):
        return None
    proto = "https"
    if proto_from_client:  # API Gateway sets it; a client can only change its own page
        proto = str(_headers(request).get("x-forwarded-proto") or "https").lower()
        proto = proto if proto in ("http", "https") else "https"
    return f"{proto}://{domain}"


def _headers(request: Any) -> Any:
    return request.headers or {}
