"""Event order: every order of a sale's completed / async succeeded / refunded / dispute events
ends in the same state. Like Stripe, a delivery answered 409 or 5xx is delivered again later.
This is the suite's one run of every order (single orders of refunds and disputes:
test_after_sale.py)."""

from __future__ import annotations

import itertools

import pytest

from tests.helpers import charge, checkout_session, deliver, dispute, sale_state, stripe_event

NAMES = ["completed", "succeeded", "refunded", "dispute"]
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


def _events(product):
    session = {"product_id": product.id}
    return {
        "completed": stripe_event(
            "checkout.session.completed", checkout_session(payment_status="unpaid", **session)
        ),
        "succeeded": stripe_event(
            "checkout.session.async_payment_succeeded",
            checkout_session(payment_status="paid", **session),
        ),
        "refunded": stripe_event(
            "charge.refunded", charge(500, metadata={"product_id": product.id})
        ),
        "dispute": stripe_event("charge.dispute.created", dispute()),
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


@pytest.mark.parametrize("order", list(itertools.permutations(NAMES)))
def test_every_order_of_events_ends_in_the_same_state(client, product, order):
    events = _events(product)
    _deliver_like_stripe(client, [events[name] for name in order])
    assert sale_state() == EXPECTED


def test_every_event_delivered_twice_in_reverse_changes_nothing_more(client, product):
    events = _events(product)
    _deliver_like_stripe(client, [events[n] for n in NAMES])
    _deliver_like_stripe(client, [events[n] for n in reversed(NAMES)] * 2)
    assert sale_state() == EXPECTED
