"""Routes each verified Stripe event to the part of the store that handles it."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.fulfilment import Fulfilment, Outcome
from chalicelib.payments import CheckoutFacts, StripeEvent

CHECKOUT_EVENTS = {
    "checkout.session.completed": Fulfilment.checkout_completed,
    "checkout.session.async_payment_succeeded": Fulfilment.fulfil,
    "checkout.session.async_payment_failed": Fulfilment.record_failed,
}

# The events `bull stripe webhook` subscribes the endpoint to.
HANDLED_EVENTS = (*CHECKOUT_EVENTS,)


def handle_event(event: StripeEvent, fulfilment: Fulfilment) -> Outcome:
    """Apply one verified event. Unknown types and other stores' sessions are ignored.

    Raises:
        BadRequest: the event's object is not what its type promises.
        Unavailable: the store failed; Stripe should retry.
    """
    action: Callable[[Fulfilment, CheckoutFacts], Outcome] | None = CHECKOUT_EVENTS.get(event.type)
    if action is None:
        return Outcome("ignored", detail=f"event type {event.type} is not handled")
    facts = CheckoutFacts.from_session(event.object, sold_at=event.created)
    if facts is None:
        return Outcome("ignored", detail="not a checkout session of this store")
    return action(fulfilment, facts)
