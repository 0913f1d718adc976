"""Domain errors. Each carries the HTTP status and a code that `app.py` turns into a response.

Messages are written for the person who sees them: never a stack trace, never AWS or Stripe
internals.
"""

from __future__ import annotations


class StoreError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class BadRequest(StoreError):
    status = 400
    code = "bad_request"


class NotFound(StoreError):
    status = 404
    code = "not_found"


class Conflict(StoreError):
    status = 409
    code = "conflict"


class Unauthorized(StoreError):
    status = 401
    code = "unauthorized"


class Forbidden(StoreError):
    status = 403
    code = "forbidden"


class LinkGone(StoreError):
    """The download link exists but gives no more downloads; `reason` says why."""

    status = 410
    code = "gone"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, code=reason)
        self.reason = reason


class TooManyRequests(StoreError):
    """A client asked too often; `retry_after` is how many seconds until it may again."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Unavailable(StoreError):
    """The store itself failed (DynamoDB, S3, SES or Stripe): the caller may retry."""

    status = 503
    code = "unavailable"


class PaymentProviderError(Unavailable):
    status = 502
    code = "payment_provider_error"


class ReceiptNotSent(Unavailable):
    """The purchase is recorded but SES failed for now; Stripe's retry sends the receipt."""

    code = "receipt_not_sent"


class ReceiptPending(Conflict):
    """Another delivery holds the receipt claim and has not recorded the receipt as sent yet.

    409 makes Stripe redeliver later, so a claim whose holder died still ends in a receipt.
    """

    code = "receipt_pending"


class ReceiptRejected(StoreError):
    """SES refused this recipient for good (a retry cannot help)."""

    status = 422
    code = "receipt_rejected"


class RateLimited(TooManyRequests):
    """One client asked a route more often than its limit allows (`chalicelib.platform.limits`):
    429 with `Retry-After`, the seconds until its window ends."""

    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many requests from your address. Please wait a little and try again.",
            retry_after=max(1, int(retry_after)),
        )
