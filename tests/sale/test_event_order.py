"""Event order: every order of completed / async succeeded / refunded / dispute events for one
session ends in the same state. Like Stripe, a delivery answered 409 or 5xx is delivered again
later."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.platform.tables import DailySales, DownloadLink, Purchase
from tests.conftest import checkout_session, deliver, sent_emails, stripe_event

INTENT = "pi_test_a1"


def _events(product):
    session = {"product_id": product.id, "payment_intent": INTENT}
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": INTENT,
        "amount": 1999,
        "amount_refunded": 500,
        "refunded": False,
        "currency": "usd",
        "metadata": {"product_id": product.id},
    }
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "payment_intent": INTENT,
        "charge": "ch_1",
        "amount": 1999,
        "status": "needs_response",
    }
    return {
        "completed": stripe_event(
            "checkout.session.completed", checkout_session(payment_status="unpaid", **session)
        ),
        "succeeded": stripe_event(
            "checkout.session.async_payment_succeeded",
            checkout_session(payment_status="paid", **session),
        ),
        "refunded": stripe_event("charge.refunded", charge),
        "dispute": stripe_event("charge.dispute.created", dispute),
    }


def _deliver_like_stripe(client, payloads):
    """Deliver in order; redeliver anything not acknowledged, a few rounds at most."""
    pending = list(payloads)
    for _ in range(5):
        retry = []
        for payload in pending:
            status = deliver(client, payload).status_code
            assert status in (200, 409), status
            if status != 200:
                retry.append(payload)
        pending = retry
        if not pending:
            return
    raise AssertionError(f"{len(pending)} deliveries never acknowledged")


def _final_state():
    purchase = Purchase.get("cs_test_a1")
    link = DownloadLink.get(purchase.token_hash)
    rollups = list(DailySales.scan())
    return {
        "status": purchase.status,
        "refunded": purchase.refunded_cents,
        "dispute": purchase.dispute_status,
        "link": (purchase.link_state, link.state),
        "orders": sum(r.orders for r in rollups),
        "gross": sum(r.gross_cents for r in rollups),
        "refunded_rollup": sum(r.refunded_cents for r in rollups),
        "receipts": len(sent_emails()),
    }


EXPECTED = {
    "status": "paid",
    "refunded": 500,
    "dispute": "open",
    "link": ("on_hold", "on_hold"),
    "orders": 1,
    "gross": 1999,
    "refunded_rollup": 500,
    "receipts": 1,
}


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["completed", "succeeded", "refunded", "dispute"]))
)
def test_every_order_of_events_ends_in_the_same_state(client, product, order):
    events = _events(product)
    _deliver_like_stripe(client, [events[name] for name in order])
    assert _final_state() == EXPECTED


def test_every_event_delivered_twice_in_reverse_changes_nothing_more(client, product):
    events = _events(product)
    names = ["completed", "succeeded", "refunded", "dispute"]
    _deliver_like_stripe(client, [events[n] for n in names])
    _deliver_like_stripe(client, [events[n] for n in reversed(names)] * 2)
    assert _final_state() == EXPECTED
