"""Refunds and disputes from Stripe: links die or pause, rollups record refunds, and
duplicates or out-of-order deliveries never apply twice."""

from __future__ import annotations

import itertools
import re
import time

import pytest

from chalicelib.platform.tables import DailySales, DownloadLink, Purchase
from tests.conftest import checkout_session, deliver, sent_emails, stripe_event

INTENT = "pi_test_a1"


def _charge(amount_refunded, amount=1999):
    return {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": INTENT,
        "amount": amount,
        "amount_refunded": amount_refunded,
        "refunded": amount_refunded >= amount,
        "currency": "usd",
    }


def _dispute(status="needs_response"):
    return {
        "id": "dp_1",
        "object": "dispute",
        "payment_intent": INTENT,
        "charge": "ch_1",
        "amount": 1999,
        "status": status,
    }


EVENTS = {
    "completed": lambda p: stripe_event(
        "checkout.session.completed", checkout_session(product_id=p.id)
    ),
    "partial": lambda p: stripe_event("charge.refunded", _charge(500), event_id="evt_r1"),
    "full": lambda p: stripe_event("charge.refunded", _charge(1999), event_id="evt_r2"),
    "dispute": lambda p: stripe_event("charge.dispute.created", _dispute()),
    "won": lambda p: stripe_event("charge.dispute.closed", _dispute("won")),
    "lost": lambda p: stripe_event("charge.dispute.closed", _dispute("lost")),
}


@pytest.fixture
def bought(client, product):
    assert deliver(client, EVENTS["completed"](product)).status_code == 200
    token = re.search(r"/download/([\w-]{43})", sent_emails()[0].body).group(1)
    return token


def _send(client, product, *names):
    for name in names:
        assert deliver(client, EVENTS[name](product)).status_code == 200


def _state():
    purchase = Purchase.get("cs_test_a1")
    link = DownloadLink.get(purchase.token_hash)
    refunded = sum(r.refunded_cents for r in DailySales.scan())
    return (
        purchase.refunded_cents,
        purchase.link_state,
        link.state,
        purchase.dispute_status,
        refunded,
    )


def test_full_refund_revokes_the_link_and_records_refunded_cents(client, product, bought):
    _send(client, product, "full")
    assert _state() == (1999, "refunded", "refunded", None, 1999)
    answer = client.http.post(f"/download/{bought}")
    assert answer.status_code == 410 and "refunded" in answer.body.decode()


def test_partial_refund_keeps_the_link_working(client, product, bought):
    _send(client, product, "partial")
    assert _state() == (500, "active", "active", None, 500)
    assert client.http.post(f"/download/{bought}").status_code == 303


def test_duplicate_and_late_refund_events_apply_once(client, product, bought):
    _send(client, product, "partial", "full", "partial", "full", "full")
    assert _state() == (1999, "refunded", "refunded", None, 1999)


def test_dispute_pauses_downloads_and_a_win_restores_them(client, product, bought):
    _send(client, product, "dispute")
    paused = client.http.post(f"/download/{bought}")
    assert paused.status_code == 410 and "under review" in paused.body.decode()
    _send(client, product, "won")
    assert client.http.post(f"/download/{bought}").status_code == 303


def test_lost_dispute_revokes_the_link(client, product, bought):
    _send(client, product, "dispute", "lost")
    assert _state()[1:4] == ("revoked", "revoked", "lost")


def test_dispute_created_after_it_closed_does_not_pause_again(client, product, bought):
    _send(client, product, "won", "dispute")
    assert _state()[1:4] == ("active", "active", "won")


def test_refund_of_a_charge_that_is_not_ours_is_ignored(client, product, bought):
    payload = stripe_event("charge.refunded", {**_charge(1999), "payment_intent": "pi_other"})
    answer = deliver(client, payload)
    assert answer.status_code == 200 and b"ignored" in answer.body
    assert _state()[0] == 0


def test_refund_from_another_stage_on_the_same_stripe_account_is_ignored(client, product):
    # Not recorded here, and tagged by another store: no 409, so Stripe stops retrying.
    charge = {
        **_charge(1999),
        "payment_intent": "pi_prod_only",
        "metadata": {"product_id": product.id, "store": "bull-prod"},
    }
    answer = deliver(client, stripe_event("charge.refunded", charge))
    assert answer.status_code == 200 and b"ignored" in answer.body


def test_refund_of_our_own_charge_before_its_checkout_arrives_is_409(client, product):
    charge = {
        **_charge(1999),
        "payment_intent": "pi_soon",
        "metadata": {"product_id": product.id, "store": "bull-test"},
    }
    assert deliver(client, stripe_event("charge.refunded", charge)).status_code == 409


def test_a_dispute_of_an_unknown_payment_is_retried_only_briefly(client, product):
    dispute = {**_dispute(), "payment_intent": "pi_unknown"}
    fresh = stripe_event("charge.dispute.created", dispute)
    assert deliver(client, fresh).status_code == 409
    # Still unknown hours later: another store's dispute on a shared account.
    stale = stripe_event("charge.dispute.created", dispute, created=int(time.time()) - 7200)
    answer = deliver(client, stale)
    assert answer.status_code == 200 and b"ignored" in answer.body


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["partial", "full", "dispute", "won"]))
)
def test_any_order_of_refunds_and_dispute_events_ends_in_the_same_state(
    client, product, bought, order
):
    _send(client, product, *order)
    refunded, purchase_link, link_state, dispute, rollup = _state()
    assert (refunded, rollup, dispute) == (1999, 1999, "won")
    assert purchase_link == link_state == "refunded"
    assert len(sent_emails()) == 1


def test_refund_of_ours_arriving_before_its_checkout_is_409_so_stripe_retries(client, product):
    early = stripe_event(
        "charge.refunded", {**_charge(1999), "metadata": {"product_id": product.id}}
    )
    assert deliver(client, early).status_code == 409
    assert list(Purchase.scan()) == []
    _send(client, product, "completed")
    assert deliver(client, early).status_code == 200
    assert _state()[:3] == (1999, "refunded", "refunded")
