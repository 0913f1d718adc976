"""Stripe's webhook events, verified: the signature on the raw body, then the shape.

`stripe` is imported inside the functions that need it, so a cold start that serves a download
or a report never pays for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.errors import BadRequest

SIGNATURE_TOLERANCE_SECONDS = 300


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

    @classmethod
    def from_session(
        cls, session: dict[str, Any], sold_at: datetime, store_id: str | None = None
    ) -> CheckoutFacts | None:
        """Read a Checkout Session; None when it is not one of this store's sessions (another
        stage or store on the same Stripe account tags its sessions with its own `store`)."""
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
        )


def verify_event(payload: bytes, signature: str | None, secret: str) -> StripeEvent:
    """Check the `Stripe-Signature` header on the raw body and parse the event.

    Raises:
        BadRequest: missing or wrong signature, stale timestamp, or not a Stripe event.
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
        body = json.loads(text)
    except ValueError:
        raise BadRequest("body is not JSON", code="bad_event") from None
    if not isinstance(body, dict):
        raise BadRequest("body is not a Stripe event", code="bad_event")
    data = body.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    event_type, event_id, created = body.get("type"), body.get("id"), body.get("created")
    if not (isinstance(event_type, str) and event_type and isinstance(obj, dict)):
        raise BadRequest("body is not a Stripe event", code="bad_event")
    if isinstance(created, bool) or not isinstance(created, int | float):
        raise BadRequest("event has no valid created time", code="bad_event")
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
