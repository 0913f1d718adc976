"""Event order: every order of one sale's events ends in the same state. The events: checkout
completed (unpaid) and its async payment succeeded; a partial refund reported by
`charge.refunded` (a newer API version: no refunds listed) and by `refund.created`, which then
fails (`refund.failed`); an inquiry that closes `warning_closed`; a chargeback, lost. Like
Stripe, a delivery answered 409 or 5xx is delivered again later, and every event keeps the time
it happened at however late it arrives.

Nine events have 362,880 orders: Hypothesis samples them (each example is a sale of its own in
one store, so the store is set up once), and the orders that broke the store before are always
run. This is the suite's one run of many orders (single orders: test_after_sale.py)."""

from __future__ import annotations

import itertools
import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.platform.tables import DailySales, DownloadLink, Purchase
from tests.helpers import checkout_session, deliver, sent_emails, stripe_event

NAMES = (
    "completed",
    "succeeded",
    "refunded",
    "refund_created",
    "refund_failed",
    "inquiry",
    "inquiry_closed",
    "chargeback",
    "chargeback_lost",
)
EXPECTED = {
    "status": "paid",
    "refunded": 0,  # the refund failed: taken back
    "disputed": 1999,
    "dispute": "lost",
    "disputes": {"dp_inquiry": "warning_closed", "dp_chargeback": "lost"},
    "refunds": {"re_1": "failed"},
    "link": ("revoked", "revoked"),  # the chargeback was lost
    "orders": 1,
    "gross": 1999,
    "refunded_rollup": 0,
    "disputed_rollup": 1999,
    "receipts": 1,
}
SALES = itertools.count(1)
CASES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _events(product_id: str, n: int) -> dict[str, bytes]:
    """Sale number `n`'s events, at the times they happened (a second apart, in NAMES order)."""
    t0 = int(time.time()) - 100
    session_id, intent, charge_id = f"cs_test_order_{n}", f"pi_order_{n}", f"ch_order_{n}"
    session = {"session_id": session_id, "product_id": product_id, "payment_intent": intent}
    charge = {
        "id": charge_id,
        "object": "charge",
        "payment_intent": intent,
        "amount": 1999,
        "amount_refunded": 500,
        "refunded": False,
        "currency": "usd",
        "metadata": {"product_id": product_id},
    }
    refund = {
        "id": "re_1",
        "object": "refund",
        "amount": 500,
        "charge": charge_id,
        "payment_intent": intent,
        "currency": "usd",
        "created": t0 + 2,
        "status": "pending",
    }

    def dispute(dispute_id: str, status: str) -> dict:
        return {
            "id": dispute_id,
            "object": "dispute",
            "payment_intent": intent,
            "charge": charge_id,
            "amount": 1999,
            "currency": "usd",
            "status": status,
        }

    objects = {
        "completed": (
            "checkout.session.completed",
            checkout_session(payment_status="unpaid", **session),
        ),
        "succeeded": (
            "checkout.session.async_payment_succeeded",
            checkout_session(payment_status="paid", **session),
        ),
        "refunded": ("charge.refunded", charge),
        "refund_created": ("refund.created", refund),
        "refund_failed": ("refund.failed", {**refund, "status": "failed"}),
        "inquiry": ("charge.dispute.created", dispute("dp_inquiry", "warning_needs_response")),
        "inquiry_closed": ("charge.dispute.closed", dispute("dp_inquiry", "warning_closed")),
        "chargeback": ("charge.dispute.created", dispute("dp_chargeback", "needs_response")),
        "chargeback_lost": ("charge.dispute.closed", dispute("dp_chargeback", "lost")),
    }
    return {
        name: stripe_event(kind, obj, created=t0 + NAMES.index(name), event_id=f"evt_{name}_{n}")
        for name, (kind, obj) in objects.items()
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


def _totals() -> dict[str, int]:
    rollups = list(DailySales.scan())
    return {
        "orders": sum(r.orders for r in rollups),
        "gross": sum(r.gross_cents for r in rollups),
        "refunded_rollup": sum(r.refunded_cents for r in rollups),
        "disputed_rollup": sum(r.disputed_cents for r in rollups),
        "receipts": len(sent_emails()),
    }


def _state(n: int, before: dict[str, int]) -> dict:
    """Sale `n` as the seller and buyer see it, and what it added to figures and receipts."""
    purchase = Purchase.get(f"cs_test_order_{n}")
    link = DownloadLink.get(purchase.token_hash)
    after = _totals()
    return {
        "status": purchase.status,
        "refunded": purchase.refunded_cents,
        "disputed": purchase.disputed_cents,
        "dispute": purchase.dispute_status,
        "disputes": {d.dispute_id: d.status for d in purchase.disputes},
        "refunds": {r.refund_id: r.status for r in purchase.refunds},
        "link": (purchase.link_state, link.state),
        **{key: after[key] - before[key] for key in after},
    }


def _run(client, product, order) -> dict:
    n = next(SALES)
    before = _totals()
    events = _events(product.id, n)
    _deliver_like_stripe(client, [events[name] for name in order])
    return _state(n, before)


@CASES
@given(order=st.permutations(NAMES))
@example(order=NAMES)  # as they happened
@example(order=tuple(reversed(NAMES)))  # everything late
# The store's one dispute per purchase: after the inquiry closed, the chargeback was a duplicate.
@example(
    order=tuple(
        [
            "completed",
            "succeeded",
            "inquiry",
            "inquiry_closed",
            "chargeback",
            "chargeback_lost",
            "refunded",
            "refund_created",
            "refund_failed",
        ]
    )
)
# The refund fails before Stripe's charge.refunded (which still counts it) arrives.
@example(
    order=tuple(
        [
            "completed",
            "succeeded",
            "refund_created",
            "refund_failed",
            "refunded",
            "inquiry",
            "inquiry_closed",
            "chargeback",
            "chargeback_lost",
        ]
    )
)
def test_every_order_of_events_ends_in_the_same_state(client, product, order):
    assert _run(client, product, order) == EXPECTED


def test_every_event_delivered_twice_in_reverse_changes_nothing_more(client, product):
    n = next(SALES)
    before = _totals()
    events = _events(product.id, n)
    _deliver_like_stripe(client, [events[name] for name in NAMES])
    _deliver_like_stripe(client, [events[name] for name in reversed(NAMES)] * 2)
    assert _state(n, before) == EXPECTED
