"""DynamoDB writes that must happen together, and the one retry loop around them.

A transaction is cancelled as a whole: its reasons say, item by item, why (`ConditionalCheckFailed`
when an item's condition no longer holds, `TransactionConflict` when another request was
changing the item at that moment). Callers say which reasons mean "read again and retry".
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import Unavailable

T = TypeVar("T")
ATTEMPTS = 4
BACKOFF = 0.025  # seconds before the first retry; doubles each time, plus up to as much jitter
CONFLICT = "TransactionConflict"
# What a plain write gets when a transaction is writing its item at that moment; the SDK does
# not retry it.
WRITE_CONFLICT = "TransactionConflictException"
CONDITION = "ConditionalCheckFailed"
# A transaction cancelled because a partition was over its rate: the SDK does not retry a
# cancellation, so the loop always does, after the same back-off.
THROTTLED = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})


class Cancelled(Exception):
    """A transaction DynamoDB cancelled for a reason the caller did not retry on."""

    def __init__(self, reasons: list[str | None]) -> None:
        super().__init__(", ".join(str(r) for r in reasons))
        self.reasons = reasons

    @property
    def first(self) -> str | None:
        return self.reasons[0] if self.reasons else None


def condition_failed(exc: Exception) -> bool:
    """Whether a single conditional write failed its condition (not a DynamoDB failure)."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _reasons(exc: TransactWriteError) -> list[str | None]:
    return [reason.code if reason else None for reason in exc.cancellation_reasons]


class Transactions:
    """Runs transactional writes through the store's one DynamoDB connection."""

    def __init__(
        self,
        connection: Callable[[], Any],
        attempts: int = ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._connection = connection
        self._attempts = attempts
        self._sleep = sleep
        self._jitter = jitter

    @contextmanager
    def write(self, *, idempotent: bool = False) -> Iterator[TransactWrite]:
        """A transaction to add writes to; it commits when the block ends.

        `idempotent` gives it a client request token, so the SDK's retry of a commit whose
        answer was lost succeeds instead of failing its own conditions.
        """
        token = uuid.uuid4().hex if idempotent else None
        with TransactWrite(connection=self._connection(), client_request_token=token) as tx:
            yield tx

    def attempt(self, step: Callable[[], T], *, retry_on: Collection[str], failure: str) -> T:
        """Run `step` (which reads, decides and writes one transaction) until it commits.

        After a cancellation with a reason in `retry_on`, or for throttling (`THROTTLED`), it
        runs again, on fresh reads, up to the attempt limit, after an exponential back-off with
        jitter (25-50 ms, 50-100 ms, 100-200 ms), so that requests which collided once do not
        collide again in step.

        Raises:
            Cancelled: the transaction was cancelled for another reason.
            Unavailable: DynamoDB failed, or the retries ran out (`failure` is the message).
        """
        for attempt in range(self._attempts):
            try:
                return step()
            except TransactWriteError as exc:
                reasons = _reasons(exc)
                if not set(reasons) & (set(retry_on) | THROTTLED):
                    if any(reasons):
                        raise Cancelled(reasons) from exc
                    raise Unavailable(failure) from exc
                if attempt + 1 < self._attempts:
                    delay = BACKOFF * 2**attempt
                    self._sleep(delay * (1 + self._jitter()))
            except PynamoDBException as exc:
                raise Unavailable(failure) from exc
        raise Unavailable(failure)

    def single(self, write: Callable[[], T]) -> T:
        """Run one plain write (`item.update(...)`, `item.save(...)`), again after the same
        back-off when it met a transaction in flight on its item (`TransactionConflictException`,
        e.g. a duplicate delivery's transaction on the purchase), up to the attempt limit.

        Raises:
            PynamoDBException: whatever else the write raised (a failed condition, DynamoDB
                failing), or the last conflict when the attempts ran out.
        """
        for attempt in range(self._attempts):
            try:
                return write()
            except PynamoDBException as exc:
                if getattr(exc, "cause_response_code", None) != WRITE_CONFLICT:
                    raise
                if attempt + 1 == self._attempts:
                    raise
                delay = BACKOFF * 2**attempt
                self._sleep(delay * (1 + self._jitter()))
        raise AssertionError("unreachable")
