"""Stripe's webhook: every event verified on the raw body, then handled."""

from __future__ import annotations

from chalice import Response

from chalicelib import store
from chalicelib.payments.events import verify_event
from chalicelib.payments.webhooks import handle_event
from chalicelib.routes.common import (
    api_route,
    bp,
    public_base,
)
from chalicelib.web.responses import (
    BODY_TYPES,
    header,
    json_response,
)


@bp.route("/webhooks/stripe", methods=["POST"], content_types=BODY_TYPES)
@api_route
def stripe_webhook() -> Response:
    """Stripe's events: checkouts completed or failed, refunds, disputes, early fraud warnings.

    Fulfilment is exactly once however often and in whatever order Stripe delivers.

    Headers:
        Stripe-Signature (required): Stripe's signature of the raw body (tolerance 300 s).

    Body (JSON):
        id (required): the event id, `evt_...`.
        type (required): the event type, e.g. `checkout.session.completed`.
        created (integer, required): when the event happened, in epoch seconds.
        data (object, required): `{"object": ...}`, the Checkout Session, charge, refund,
            dispute or early fraud warning.

    Returns:
        200 WebhookReceipt: `{"received": true, "result": ...}` for handled and ignored events.

    Raises:
        BadRequest (400) for a missing or bad signature or a body that is not an event
        (nothing written), Conflict (409) for a refund, dispute or warning of ours whose
        checkout has not arrived yet or while another delivery is sending the receipt,
        Unavailable (503) when the store failed, PaymentProviderError (502) when Stripe refused
        the refund an early fraud warning asked for; Stripe redelivers after a 409 or 5xx.
    """
    request, shop = bp.current_request, store.current()
    event = verify_event(
        request.raw_body or b"", header(request, "stripe-signature"), shop.webhook_secret()
    )
    base = public_base()
    outcome = handle_event(
        event, shop.fulfilment(base), shop.after_sale(base), shop.settings.store_id
    )
    return json_response({"received": True, "result": outcome.result})
