"""Refunds and disputes from Stripe: links die or pause, rollups record refunds, and
duplicates or late deliveries never apply twice. (Every order of a sale's events, checkout
included: test_event_order.py.)"""

from __future__ import annotations

import time

import pytest

from chalicelib.platform.tables import Purchase
from tests.helpers import charge, completed, deliver, dispute, sale_state, sent_emails, stripe_event

# Each event keeps the time it happened at (partial refund, full refund, dispute, its close),
# however late it is delivered, as Stripe's redeliveries do.
T0 = int(time.time()) - 60
EVENTS = {
    "partial": lambda: stripe_event("charge.refunded", charge(500), T0 + 1, "evt_r1"),
    "full": lambda: stripe_event("charge.refunded", charge(1999), T0 + 2, "evt_r2"),
    "dispute": lambda: stripe_event("charge.dispute.created", dispute(), T0 + 3),
    "won": lambda: stripe_event("charge.dispute.closed", dispute("won"), T0 + 4),
    "lost": lambda: stripe_event("charge.dispute.closed", dispute("lost"), T0 + 4),
}


def _send(client, *names):
    for name in names:
        assert deliver(client, EVENTS[name]()).status_code == 200, name


def _shows(**expected):
    """The sale's state has these values (see `sale_state`)."""
    state = sale_state()
    assert {key: state[key] for key in expected} == expected


def test_full_refund_revokes_the_link_and_records_refunded_cents(client, paid_token):
    _send(client, "full")
    _shows(refunded=1999, link=("refunded", "refunded"), dispute=None, refunded_rollup=1999)
    answer = client.http.post(f"/download/{paid_token}")
    assert answer.status_code == 410 and "refunded" in answer.body.decode()


def test_partial_refund_keeps_the_link_working(client, paid_token):
    _send(client, "partial")
    _shows(refunded=500, link=("active", "active"), dispute=None, refunded_rollup=500)
    assert client.http.post(f"/download/{paid_token}").status_code == 303


def test_duplicate_and_late_refund_events_apply_once(client, paid_token):
    _send(client, "partial", "full", "partial", "full", "full")
    _shows(refunded=1999, link=("refunded", "refunded"), refunded_rollup=1999)


def test_dispute_pauses_downloads_and_a_win_restores_them(client, paid_token):
    _send(client, "dispute")
    paused = client.http.post(f"/download/{paid_token}")
    assert paused.status_code == 410 and "under review" in paused.body.decode()
    _send(client, "won")
    assert client.http.post(f"/download/{paid_token}").status_code == 303


def test_lost_dispute_revokes_the_link(client, paid_token):
    _send(client, "dispute", "lost")
    _shows(link=("revoked", "revoked"), dispute="lost")


@pytest.mark.parametrize(
    "order",
    [
        ("won", "dispute"),
        ("full", "partial"),
        ("dispute", "full", "won"),
        ("won", "full", "dispute"),
        ("full", "dispute", "won", "partial"),
    ],
    ids=["closed-before-created", "full-before-partial", "refund-during-dispute",
         "refund-after-win", "all-late"],
)  # fmt: skip
def test_late_refund_and_dispute_events_never_undo_what_came_after(client, paid_token, order):
    """A dispute created after it closed does not pause; a partial refund after the full one
    does not revive the link; a won dispute does not revive a refunded link."""
    _send(client, *order)
    refunded = 1999 if "full" in order else 0
    link = ("refunded", "refunded") if refunded else ("active", "active")
    won = "won" if "won" in order else None
    _shows(refunded=refunded, refunded_rollup=refunded, link=link, dispute=won, receipts=1)


def test_refund_of_a_charge_that_is_not_ours_is_ignored(client, paid_token):
    payload = stripe_event("charge.refunded", charge(1999, intent="pi_other"))
    answer = deliver(client, payload)
    assert answer.status_code == 200 and b"ignored" in answer.body
    _shows(refunded=0)


def test_refund_from_another_stage_on_the_same_stripe_account_is_ignored(client, product):
    # Not recorded here, and tagged by another store: no 409, so Stripe stops retrying.
    metadata = {"product_id": product.id, "store": "bull-prod"}
    refund = charge(1999, intent="pi_prod_only", metadata=metadata)
    answer = deliver(client, stripe_event("charge.refunded", refund))
    assert answer.status_code == 200 and b"ignored" in answer.body


def test_refund_of_our_own_charge_before_its_checkout_arrives_is_409(client, product):
    metadata = {"product_id": product.id, "store": "bull-test"}
    refund = charge(1999, intent="pi_soon", metadata=metadata)
    assert deliver(client, stripe_event("charge.refunded", refund)).status_code == 409


def test_a_dispute_of_an_unknown_payment_is_retried_only_briefly(client, product):
    unknown = dispute(intent="pi_unknown")
    fresh = stripe_event("charge.dispute.created", unknown)
    assert deliver(client, fresh).status_code == 409
    # Still unknown hours later: another store's dispute on a shared account.
    stale = stripe_event("charge.dispute.created", unknown, created=int(time.time()) - 7200)
    answer = deliver(client, stale)
    assert answer.status_code == 200 and b"ignored" in answer.body


def test_refund_of_ours_arriving_before_its_checkout_is_409_so_stripe_retries(client, product):
    early = stripe_event("charge.refunded", charge(1999, metadata={"product_id": product.id}))
    assert deliver(client, early).status_code == 409
    assert list(Purchase.scan()) == []
    assert deliver(client, completed(product.id)).status_code == 200
    assert deliver(client, early).status_code == 200
    _shows(refunded=1999, link=("refunded", "refunded"))
    assert len(sent_emails()) == 1
