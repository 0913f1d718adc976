"""Limits on what one client can make the store do (issue 15): requests per client and route in
fixed windows, counted in DynamoDB so they hold across Lambda containers.

The client is API Gateway's source IP (`chalicelib.web.responses.client_ip`), never a header a
client can forge. Its key is an HMAC of the IP under the store's link-signing key, so the table
holds no address (a bare SHA-256 of an IPv4 address is reversed by trying all 2^32 of them).

Each request is one conditional `ADD hits :1` on the item
`limit#<route>#<client key>#<window start>` (a `RateCount` in the links table), which also sets
its TTL: allowed while the window holds fewer than the limit, refused (`RateLimited`, 429 with
`Retry-After`: the seconds to the window's end) once it is full. There is no read first, so any
number of containers racing each other let through at most the limit. A refused request adds
nothing. Fixed windows are one write per request; a client may use a window's end and the next
one's start back to back (twice the limit in a moment, never more on average).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import RateLimited, Unavailable
from chalicelib.platform.config import Settings
from chalicelib.platform.tables import RateCount
from chalicelib.platform.transactions import condition_failed

logger = logging.getLogger("bull")

KEY_PREFIX = "limit#"


@dataclass(frozen=True)
class Limit:
    """At most `requests` per `window_seconds` per client. When DynamoDB fails, a limit that
    `fails_open` lets the request through (logged); otherwise the request is refused (503)."""

    requests: int
    window_seconds: int = 60
    fails_open: bool = False


def route_limits(settings: Settings) -> dict[str, Limit]:
    """The store's limits by route name, from its settings.

    Checkout and thanks fail open: they are the buyer's way to pay and to get what they paid
    for, and a DynamoDB blip must not stop a sale; API Gateway's stage throttling and the
    function's reserved concurrency (`bull setup`) still cap what a flood costs. The library
    (it sends mail) and the license API (its answers are read from DynamoDB anyway) fail closed.
    """
    s = settings
    return {
        "checkout": Limit(s.checkout_per_minute, fails_open=True),
        "thanks": Limit(s.thanks_per_minute, fails_open=True),
        "thanks_unknown": Limit(s.thanks_unknown_per_10_minutes, 600, fails_open=True),
        "library": Limit(s.library_per_minute),
        "licenses": Limit(s.licenses_per_minute),
    }


class RateLimiter:
    """Counts each client's requests per route in DynamoDB and refuses those over the limit."""

    def __init__(
        self,
        model: type[RateCount],
        *,
        limits: Mapping[str, Limit],
        key: Callable[[], str],
        clock: Callable[[], datetime],
    ) -> None:
        self._model = model
        self._limits = dict(limits)
        self._key = key
        self._clock = clock

    def take(self, route: str, client: str) -> str | None:
        """Count one request of `client` (its source IP) to `route`; the counted item's key,
        for `give_back`, or None when DynamoDB failed and the route's limit fails open.

        Raises:
            RateLimited: the client's window for `route` is full (nothing counted).
            Unavailable: DynamoDB failed and the route's limit fails closed.
            KeyError: `route` has no limit.
        """
        limit = self._limits[route]
        now = int(self._clock().timestamp())
        start = now - now % limit.window_seconds
        end = start + limit.window_seconds
        key = f"{KEY_PREFIX}{route}#{self.client_key(client)}#{start}"
        item = self._model(key)
        try:
            item.update(
                actions=[
                    self._model.hits.add(1),
                    # Gone once the window is over (DynamoDB deletes within days; never read).
                    self._model.purge_at.set(datetime.fromtimestamp(end, UTC)),
                ],
                condition=self._model.hits.does_not_exist() | (self._model.hits < limit.requests),
            )
        except PynamoDBException as exc:
            if condition_failed(exc):
                raise RateLimited(end - now) from None
            if limit.fails_open:
                logger.warning("rate limit of %s not counted, let through: %s", route, exc)
                return None
            raise Unavailable("The store is busy. Please try again in a minute.") from exc
        return key

    def give_back(self, key: str | None) -> None:
        """Return a request `take` counted (its key), e.g. one that turned out to be fine; a
        failure only logs (the count ends with its window anyway)."""
        if key is None:
            return
        try:
            self._model(key).update(
                actions=[self._model.hits.add(-1)], condition=self._model.hits > 0
            )
        except PynamoDBException as exc:
            logger.info("rate limit count not given back: %s", exc)

    def client_key(self, client: str) -> str:
        """The client's key in the table: HMAC-SHA-256 of its IP under the store's key. An
        IPv6 client is its /64, the block one subscriber is given, so that stepping through
        its own addresses does not make it a new client."""
        secret = ("rate-limit:" + self._key()).encode()
        return hmac.new(secret, client_network(client).encode(), hashlib.sha256).hexdigest()


def client_network(client: str) -> str:
    """What counts as one client: an IPv4 address, an IPv6 address's /64, else the text."""
    try:
        address = ipaddress.ip_address((client or "").strip())
    except ValueError:
        return client or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
