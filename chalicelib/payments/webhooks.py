"""Routes each verified Stripe event to the part of the store that handles it."""

from __future__ import annotations

from chalicelib.payments.events import CheckoutFacts, StripeEvent
from chalicelib.sale.after_sale import AfterSale
from chalicelib.sale.fulfilment import Fulfilment, Outcome

CHECKOUT_EVENTS = {
    "checkout.session.completed": Fulfilment.checkout_completed,
    "checkout.session.async_payment_succeeded": Fulfilment.fulfil,
    "checkout.session.async_payment_failed": Fulfilment.record_failed,
}
AFTER_SALE_EVENTS = {
    "charge.refunded": AfterSale.charge_refunded,
    # Each refund by id; their object is a refund (`charge.refund.updated`'s too).
    "refund.created": AfterSale.refund_changed,
    "refund.updated": AfterSale.refund_changed,
    "charge.refund.updated": AfterSale.refund_changed,
    "refund.failed": AfterSale.refund_failed,
    "charge.dispute.created": AfterSale.dispute_created,
    "charge.dispute.closed": AfterSale.dispute_closed,
    "radar.early_fraud_warning.created": AfterSale.fraud_warning,
}

# The events `bull stripe webhook` subscribes the endpoint to.
HANDLED_EVENTS = (*CHECKOUT_EVENTS, *AFTER_SALE_EVENTS)


def handle_event(
    event: StripeEvent, fulfilment: Fulfilment, after_sale: AfterSale, store_id: str | None = None
) -> Outcome:
    """Apply one verified event. Unknown types and other stores' objects are ignored.

    Raises:
        BadRequest: the event's object is not what its type promises.
        Unavailable: the store failed; Stripe should retry.
    """
    if event.type in AFTER_SALE_EVENTS:
        return AFTER_SALE_EVENTS[event.type](after_sale, event.object, event.created)
    action = CHECKOUT_EVENTS.get(event.type)
    if action is None:
        return Outcome("ignored", detail=f"event type {event.type} is not handled")
    facts = CheckoutFacts.from_session(event.object, sold_at=event.created, store_id=store_id)
    if facts is None:
        return Outcome("ignored", detail="not a checkout session of this store")
    return action(fulfilment, facts)
