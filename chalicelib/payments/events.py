"""Stripe's webhook events, verified: the signature on the raw body, then the shape.

`stripe` is imported inside the functions that need it, so a cold start that serves a download
or a report never pays for it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.errors import BadRequest

SIGNATURE_TOLERANCE_SECONDS = 300

# The amounts the store reads are integers from 0 to 10^12 minor units (Stripe's largest charge
# is 99,999,999 in any currency; 10^12 leaves room for every zero-decimal currency and stays
# far inside DynamoDB's 38 digits and JavaScript's 2^53).
MAX_AMOUNT = 10**12
# An event's `created` is a plausible epoch second: not before 2010-01-01 (Stripe sent no event
# earlier) and not more than a day ahead of our clock (a signed event is at most 300 s old, so
# anything further ahead is not a real time; a day absorbs any clock skew).
EARLIEST_CREATED = 1_262_304_000
LATEST_CREATED_AHEAD = 86_400
# Where each object type keeps the amounts the store reads (dotted paths into the object).
AMOUNT_FIELDS = {
    "checkout.session": (
        "amount_total",
        "amount_subtotal",
        "total_details.amount_tax",
        "total_details.amount_discount",
        "currency_conversion.amount_total",
        "currency_conversion.amount_subtotal",
    ),
    "charge": ("amount", "amount_refunded", "amount_captured"),
    "refund": ("amount",),
    "dispute": ("amount",),
}


@dataclass(frozen=True)
class StripeEvent:
    """A webhook event whose signature has been checked."""

    id: str
    type: str
    created: datetime
    object: dict[str, Any]


@dataclass(frozen=True)
class CheckoutFacts:
    """What fulfilment needs from a Checkout Session, read from the signed event only."""

    session_id: str
    product_id: str
    amount_cents: int
    currency: str
    email: str | None
    payment_intent: str | None
    payment_status: str
    sold_at: datetime
    # `amount_subtotal` and `total_details` (tax, discount), in `currency`.
    subtotal_cents: int | None = None
    tax_cents: int = 0
    discount_cents: int = 0
    # `currency_conversion` (Adaptive Pricing): the session's amounts in the currency it was
    # created in, `source_currency`; None without one.
    source_currency: str | None = None
    source_total_cents: int | None = None
    source_subtotal_cents: int | None = None

    @classmethod
    def from_session(
        cls, session: dict[str, Any], sold_at: datetime, store_id: str | None = None
    ) -> CheckoutFacts | None:
        """Read a Checkout Session; None when it is not one of this store's sessions (another
        stage or store on the same Stripe account tags its sessions with its own `store`)."""
        session = _legacy_session(session)
        session_id = session.get("id")
        metadata = session.get("metadata") or {}
        product_id = metadata.get("product_id") if isinstance(metadata, dict) else None
        if not isinstance(session_id, str) or not session_id.startswith("cs_"):
            return None
        if not is_ours(metadata, store_id):
            return None
        if not isinstance(product_id, str) or not product_id:
            return None
        amount = session.get("amount_total")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise BadRequest("checkout session has no valid amount_total")
        details = session.get("customer_details") or {}
        email = (details.get("email") if isinstance(details, dict) else None) or session.get(
            "customer_email"
        )
        intent = session.get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        return cls(
            session_id=session_id,
            product_id=product_id,
            amount_cents=amount,
            currency=str(session.get("currency") or "usd").lower(),
            email=email if isinstance(email, str) and email else None,
            payment_intent=intent if isinstance(intent, str) and intent else None,
            payment_status=str(session.get("payment_status") or "unpaid"),
            sold_at=sold_at,
            **_totals(session),
        )


def _totals(session: dict[str, Any]) -> dict[str, Any]:
    """Subtotal, tax and discount, and the currency conversion, where the session has them."""
    details = session.get("total_details")
    details = details if isinstance(details, dict) else {}
    conversion = session.get("currency_conversion")
    conversion = conversion if isinstance(conversion, dict) else {}
    source = conversion.get("source_currency")
    source_total = conversion.get("amount_total")
    converted = isinstance(source, str) and bool(source) and _is_int(source_total)
    return {
        "subtotal_cents": _amount(session.get("amount_subtotal")),
        "tax_cents": _amount(details.get("amount_tax")) or 0,
        "discount_cents": _amount(details.get("amount_discount")) or 0,
        "source_currency": source.lower() if converted else None,
        "source_total_cents": source_total if converted else None,
        "source_subtotal_cents": _amount(conversion.get("amount_subtotal")) if converted else None,
    }


def _amount(value: Any) -> int | None:
    return value if _is_int(value) and value >= 0 else None


def verify_event(
    payload: bytes, signature: str | None, secret: str, now: float | None = None
) -> StripeEvent:
    """Check the `Stripe-Signature` header on the raw body and parse the event.

    Raises:
        BadRequest: missing or wrong signature, stale timestamp, or not a Stripe event (not
            JSON, NaN or Infinity anywhere, a `created` that is not a plausible epoch second, an
            amount the store reads that is not an integer from 0 to 10^12).
    """
    import stripe

    if not signature:
        raise BadRequest("missing Stripe-Signature header", code="bad_signature")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, SIGNATURE_TOLERANCE_SECONDS)
    except (UnicodeDecodeError, stripe.SignatureVerificationError):
        raise BadRequest("invalid Stripe signature", code="bad_signature") from None
    try:
        body = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise BadRequest("body is not JSON", code="bad_event") from None
    if not isinstance(body, dict):
        raise BadRequest("body is not a Stripe event", code="bad_event")
    data = body.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    event_type, event_id, created = body.get("type"), body.get("id"), body.get("created")
    if not (isinstance(event_type, str) and event_type and isinstance(obj, dict)):
        raise BadRequest("body is not a Stripe event", code="bad_event")
    latest = (time.time() if now is None else now) + LATEST_CREATED_AHEAD
    if not _is_int(created) or not EARLIEST_CREATED <= created <= latest:
        raise BadRequest(
            "event `created` must be an integer epoch second from 2010 to now", code="bad_event"
        )
    check_amounts(obj)
    return StripeEvent(
        id=str(event_id or ""),
        type=event_type,
        created=datetime.fromtimestamp(created, UTC),
        object=obj,
    )


def is_ours(metadata: Any, store_id: str | None) -> bool:
    """Whether Stripe metadata (a session's, or a charge's copied from its PaymentIntent)
    belongs to this store: it names a product and no other store."""
    if not isinstance(metadata, dict) or not metadata.get("product_id"):
        return False
    tag = metadata.get("store")
    return tag is None or store_id is None or tag == store_id


def check_amounts(obj: dict[str, Any]) -> None:
    """Every amount the store reads from this object, where present and not null, is an integer
    from 0 to MAX_AMOUNT.

    Raises:
        BadRequest: `bad_event`, naming the field.
    """
    for path in AMOUNT_FIELDS.get(str(obj.get("object")), ()):
        value: Any = obj
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and not (_is_int(value) and 0 <= value <= MAX_AMOUNT):
            raise BadRequest(
                f"{obj.get('object')} `{path}` must be an integer from 0 to 10^12",
                code="bad_event",
            )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse_constant(name: str) -> Any:
    """`json.loads` accepts NaN, Infinity and -Infinity, which are not JSON; Stripe never sends
    them."""
    raise ValueError(f"{name} is not JSON")


def _legacy_session(session: dict[str, Any]) -> dict[str, Any]:
    """A session as Stripe rendered it before `amount_total`, `currency` and `payment_status`
    existed (2019-era payloads, e.g. API version 2019-05-16): the total is the sum of its
    `display_items`, and a completed session was paid (Checkout then took only synchronous
    payments). Sessions that carry the fields are returned unchanged."""
    if "amount_total" in session or "payment_status" in session:
        return session
    items = session.get("display_items")
    if not isinstance(items, list) or not items:
        return session
    amounts = [i.get("amount") for i in items if isinstance(i, dict)]
    counts = [i.get("quantity", 1) for i in items if isinstance(i, dict)]
    currencies = {i.get("currency") for i in items if isinstance(i, dict)}
    if len(amounts) != len(items) or not all(map(_is_int, amounts + counts)):
        return session
    if len(currencies) != 1 or not all(0 <= n <= MAX_AMOUNT for n in amounts + counts):
        return session
    total = sum(a * q for a, q in zip(amounts, counts, strict=True))
    if total > MAX_AMOUNT:
        raise BadRequest("checkout.session `display_items` total exceeds 10^12", code="bad_event")
    return {
        **session,
        "amount_total": total,
        "currency": session.get("currency") or currencies.pop(),
        "payment_status": "paid",
    }
