"""Allowances: how often something was done for one subject (an address, or a client's key:
an HMAC of its IP, `RateLimiter.client_key`, never the IP itself) in a sliding window, counted
in DynamoDB (`MailAllowance` items of the links table, keyed
`allowance#<kind>#<SHA-256 of the subject>`) so that limits hold across Lambda containers.

The library limits its mails per address and its asks per client with them; the license routes
limit unknown-key answers per client (guessing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException

from chalicelib.errors import Unavailable
from chalicelib.platform.tables import MailAllowance
from chalicelib.platform.transactions import condition_failed

ALLOWANCE_ATTEMPTS = 4


class Allowances:
    """Sliding windows of uses per key, one conditional write per use."""

    def __init__(
        self,
        model: type[MailAllowance],
        clock: Callable[[], datetime],
        window: timedelta = timedelta(hours=1),
    ) -> None:
        self._model = model
        self._clock = clock
        self._window = window

    def _key(self, kind: str, subject: str) -> str:
        return f"allowance#{kind}#{hashlib.sha256(subject.encode()).hexdigest()}"

    def _read(self, key: str) -> MailAllowance:
        try:
            return self._model.get(key, consistent_read=True)
        except DoesNotExist:
            return self._model(key)
        except PynamoDBException as exc:
            raise Unavailable("The store could not check how often it was asked.") from exc

    def _recent(self, item: MailAllowance, now: int) -> list[int]:
        since = now - int(self._window.total_seconds())
        return sorted(int(t) for t in item.uses or () if int(t) > since)

    def wait(self, kind: str, subject: str, limit: int) -> int:
        """Seconds until `subject` has a use of `limit` left (0: it has one now); uses nothing.

        Raises:
            Unavailable: DynamoDB failed.
        """
        now = int(self._clock().timestamp())
        recent = self._recent(self._read(self._key(kind, subject)), now)
        if len(recent) < limit:
            return 0
        return max(1, recent[len(recent) - limit] + int(self._window.total_seconds()) - now)

    def take(self, kind: str, subject: str, limit: int) -> bool:
        """Use one of `limit` uses of the window for `subject` (an address or an IP);
        False (and nothing used) when none is left.

        Raises:
            Unavailable: DynamoDB failed.
        """
        key = self._key(kind, subject)
        for _ in range(ALLOWANCE_ATTEMPTS):
            now = int(self._clock().timestamp())
            item = self._read(key)
            recent = self._recent(item, now)
            if len(recent) >= limit:
                return False
            item.uses = [*recent, now]
            item.purge_at = datetime.fromtimestamp(now, UTC) + self._window
            try:
                item.save()  # conditional on `version`: another container's use wins first
                return True
            except PutError as exc:
                if not condition_failed(exc):
                    raise Unavailable("The store could not record the use.") from exc
            except PynamoDBException as exc:
                raise Unavailable("The store could not record the use.") from exc
        return False  # contended this hard: refuse rather than exceed the limit
