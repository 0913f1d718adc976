"""Stripe: Checkout Sessions out, verified webhook events in.

`stripe` is imported inside the functions that need it, so a cold start that serves a download
or a report never pays for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.catalog import ProductView
from chalicelib.errors import BadRequest, Conflict, NotFound, PaymentProviderError

SIGNATURE_TOLERANCE_SECONDS = 300
MAX_EMAIL_LENGTH = 254


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


class Checkout:
    """Creates and reads Checkout Sessions through the Stripe API."""

    def __init__(
        self, api_key: str, api_base: str | None, site_url: str, store_id: str = "bull"
    ) -> None:
        self._api_key = api_key
        self._api_base = api_base
        self._site_url = site_url
        self._store_id = store_id
        self._client: Any = None

    def _stripe(self) -> Any:
        if self._client is None:
            import stripe

            kwargs: dict[str, Any] = {"max_network_retries": 2}
            if self._api_base:
                kwargs["base_addresses"] = {"api": self._api_base}
            self._client = stripe.StripeClient(self._api_key, **kwargs)
        return self._client

    def create_session(self, product: ProductView, email: str | None) -> str:
        """Start a Checkout Session for `product` at its recorded price; return its URL.

        Raises:
            BadRequest: Stripe refused the buyer's email address.
            PaymentProviderError: Stripe refused or could not be reached.
        """
        import stripe

        # The session's and the PaymentIntent's (Stripe copies the latter onto the charge).
        metadata = {"product_id": product.id, "store": self._store_id}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": product.currency,
                        "unit_amount": product.price_cents,
                        "product_data": {"name": product.name},
                    },
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": f"{self._site_url}/thanks?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{self._site_url}/",
        }
        if email:
            params["customer_email"] = email
        try:
            session = self._stripe().v1.checkout.sessions.create(params=params)
        except stripe.StripeError as exc:
            if getattr(exc, "param", None) == "customer_email":
                message = "Check the email address and try again."
                raise BadRequest(message, code="bad_email") from exc
            raise PaymentProviderError(
                "The payment provider is not answering. Please try again in a minute."
            ) from exc
        return str(session.url)

    def retrieve_session(self, session_id: str) -> dict[str, Any]:
        """Fetch a Checkout Session as a plain dict.

        Raises:
            NotFound: Stripe knows no such session.
            PaymentProviderError: Stripe could not be reached.
        """
        import stripe

        try:
            session = self._stripe().v1.checkout.sessions.retrieve(session_id)
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing" or exc.http_status == 404:
                raise NotFound("We could not find that checkout.") from None
            raise PaymentProviderError("The payment provider refused the request.") from exc
        except stripe.StripeError as exc:
            raise PaymentProviderError(
                "The payment provider is not answering. Please try again in a minute."
            ) from exc
        return session.to_dict()

    def refund(self, payment_intent: str) -> str:
        """Refund a payment in full; return the refund id. Stripe then sends charge.refunded.

        Raises:
            Conflict: Stripe says the charge is already refunded (a second click, say).
            PaymentProviderError: Stripe refused or could not be reached.
        """
        import stripe

        try:
            refund = self._stripe().v1.refunds.create(params={"payment_intent": payment_intent})
        except stripe.StripeError as exc:
            if exc.code == "charge_already_refunded":
                message = "This payment is already refunded."
                raise Conflict(message, code="already_refunded") from exc
            raise PaymentProviderError("The payment provider refused the refund.") from exc
        return str(refund.id)


def clean_email(value: Any) -> str | None:
    """An optional buyer email from a form: None when empty, BadRequest when implausible."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest("email must be text")
    email = value.strip()
    if len(email) > MAX_EMAIL_LENGTH or "@" not in email or any(c.isspace() for c in email):
        raise BadRequest("email does not look like an address")
    local, _, domain = email.rpartition("@")
    if not local or "." not in domain:
        raise BadRequest("email does not look like an address")
    return email
