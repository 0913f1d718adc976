"""Refunds one by one and taken back, disputes one by one (issue 11), through the webhook: what
the buyer's link does, what the purchase records and what the report counts on which day."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.platform.tables import Purchase
from tests.helpers import INTENT, SESSION, charge, deliver, stripe_event

DAY1, DAY2, DAY3 = "2026-11-20", "2026-11-21", "2026-11-22"


def _at(day: str, hhmm: str = "12:00") -> int:
    return int(datetime.fromisoformat(f"{day}T{hhmm}:00+00:00").astimezone(UTC).timestamp())


def _dispute(dispute_id: str, status: str, amount: int = 1999) -> dict:
    return {
        "id": dispute_id,
        "object": "dispute",
        "payment_intent": INTENT,
        "charge": "ch_1",
        "amount": amount,
        "currency": "usd",
        "status": status,
        "reason": "fraudulent",
    }


def _refund(refund_id: str, amount: int, status: str = "succeeded", created: int = 0) -> dict:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "charge": "ch_1",
        "payment_intent": INTENT,
        "currency": "usd",
        "status": status,
        "created": created or _at(DAY1, "09:00"),
    }


def _send(client, kind: str, obj: dict, day: str = DAY1, hhmm: str = "12:00") -> str:
    """Deliver one event; its `result` (it must be acknowledged with 200)."""
    answer = deliver(client, stripe_event(kind, obj, created=_at(day, hhmm)))
    assert answer.status_code == 200, answer.body
    return json.loads(answer.body)["result"]


def _download(client, token: str) -> int:
    return client.http.post(f"/download/{token}").status_code


def _purchase() -> Purchase:
    return Purchase.get(SESSION)


def _days(client, admin) -> dict[str, dict]:
    answer = client.http.get(f"/reports?from={DAY1}&to={DAY3}", headers=admin)
    assert answer.status_code == 200
    return {d["date"]: d for d in json.loads(answer.body)["days"]}


def _figures(day: dict) -> tuple[int, int, int]:
    return day["refunded_cents"], day["disputed_cents"], day["net_cents"]


# -- disputes, one by one --------------------------------------------------------------------


def test_a_chargeback_after_a_closed_inquiry_is_a_dispute_of_its_own(client, paid_token, admin):
    """Before: the chargeback was answered `duplicate` twice; the link kept working and the
    dispute read "won"."""
    assert _send(client, "charge.dispute.created", _dispute("dp_inq", "warning_needs_response"))
    assert _send(client, "charge.dispute.closed", _dispute("dp_inq", "warning_closed")) == (
        "warning_closed"
    )
    assert _download(client, paid_token) == 303
    assert _send(client, "charge.dispute.created", _dispute("dp_cb", "needs_response"), DAY2) == (
        "on_hold"
    )
    gone = client.http.post(f"/download/{paid_token}")
    assert gone.status_code == 410 and "under review" in gone.body.decode()
    assert _send(client, "charge.dispute.closed", _dispute("dp_cb", "lost"), DAY3) == "lost"
    purchase = _purchase()
    assert purchase.dispute_status == "lost" and purchase.link_state == "revoked"
    assert {d.dispute_id: d.status for d in purchase.disputes} == {
        "dp_cb": "lost",
        "dp_inq": "warning_closed",
    }
    assert _download(client, paid_token) == 410
    # The lost chargeback counts on the day it closed; net = gross - refunded - disputed.
    days = _days(client, admin)
    assert _figures(days[DAY3]) == (0, 1999, -1999)
    assert _figures(days[DAY2]) == (0, 0, 0)


@pytest.mark.parametrize("closed", ["won", "warning_closed", "prevented"])
def test_a_dispute_closed_in_the_sellers_favour_ends_the_hold(client, paid_token, closed):
    """Before: `prevented` left the link on hold for ever."""
    _send(client, "charge.dispute.created", _dispute("dp_1", "needs_response"))
    assert _download(client, paid_token) == 410
    assert _send(client, "charge.dispute.closed", _dispute("dp_1", closed)) == closed
    assert _download(client, paid_token) == 303
    assert _purchase().dispute_status == closed and _purchase().disputed_cents == 0


def test_the_link_stays_on_hold_while_any_dispute_is_open(client, paid_token):
    _send(client, "charge.dispute.created", _dispute("dp_1", "warning_needs_response"))
    _send(client, "charge.dispute.created", _dispute("dp_2", "needs_response"))
    _send(client, "charge.dispute.closed", _dispute("dp_1", "warning_closed"))
    assert _download(client, paid_token) == 410
    assert _purchase().dispute_status == "open"
    _send(client, "charge.dispute.closed", _dispute("dp_2", "won"))
    assert _download(client, paid_token) == 303


def test_a_lost_dispute_delivered_again_counts_once(client, paid_token, admin):
    for _ in range(3):
        _send(client, "charge.dispute.closed", _dispute("dp_1", "lost", amount=1500), DAY2)
    assert _figures(_days(client, admin)[DAY2]) == (0, 1500, -1500)
    assert _purchase().disputed_cents == 1500


def test_a_won_dispute_does_not_revive_a_link_the_seller_revoked(client, paid_token, admin):
    _send(client, "charge.dispute.created", _dispute("dp_1", "needs_response"))
    answer = client.http.post(f"/admin/purchases/{SESSION}/revoke", headers=admin)
    assert answer.status_code == 200
    _send(client, "charge.dispute.closed", _dispute("dp_1", "won"))
    assert _purchase().link_state == "revoked" and _download(client, paid_token) == 410


# -- refunds, one by one, and taken back ------------------------------------------------------


def test_a_failed_refund_is_taken_back(client, paid_token, admin):
    """Before: the report kept the refund and the link stayed revoked although the seller
    kept the money."""
    assert _send(client, "charge.refunded", charge(1999), DAY1) == "refunded"
    assert _download(client, paid_token) == 410
    failed = _refund("re_1", 1999, "failed")
    assert _send(client, "refund.failed", failed, DAY2) == "refund_taken_back"
    assert _purchase().refunded_cents == 0 and _purchase().link_state == "active"
    assert _download(client, paid_token) == 303
    days = _days(client, admin)
    assert _figures(days[DAY1]) == (1999, 0, -1999)
    assert _figures(days[DAY2]) == (-1999, 0, 1999)  # taken back on the day it failed


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("charge.refund.updated", "failed"),
        ("refund.updated", "failed"),
        ("refund.updated", "canceled"),
        ("charge.refund.updated", "canceled"),
    ],
)
def test_a_refund_updated_to_failed_or_canceled_is_taken_back(client, paid_token, kind, status):
    _send(client, "refund.created", _refund("re_1", 1999, "pending"))
    assert _download(client, paid_token) == 410
    _send(client, kind, _refund("re_1", 1999, status), DAY2)
    assert _purchase().refunded_cents == 0 and _download(client, paid_token) == 303


def test_a_refund_reported_by_every_event_counts_once(client, paid_token, admin):
    refund = _refund("re_1", 500, "pending")
    _send(client, "refund.created", refund)
    _send(client, "charge.refunded", charge(500))  # a newer API version: no refunds listed
    _send(client, "refund.updated", {**refund, "status": "succeeded"})
    _send(client, "charge.refund.updated", {**refund, "status": "succeeded"})
    assert _purchase().refunded_cents == 500 and _purchase().link_state == "active"
    assert _figures(_days(client, admin)[DAY1]) == (500, 0, -500)


def test_refunds_listed_on_the_charge_count_by_id(client, paid_token):
    """An older API version lists the charge's refunds: a failed one among them counts for
    nothing, and the refunds reported again one by one add nothing."""
    listed = {
        "object": "list",
        "data": [_refund("re_1", 500), _refund("re_2", 300, "failed")],
        "has_more": False,
    }
    _send(client, "charge.refunded", charge(500, refunds=listed))
    _send(client, "refund.created", _refund("re_1", 500))
    _send(client, "refund.failed", _refund("re_2", 300, "failed"))
    assert _purchase().refunded_cents == 500
    assert {r.refund_id: r.status for r in _purchase().refunds} == {
        "re_1": "succeeded",
        "re_2": "failed",
    }


def test_two_partial_refunds_that_add_up_revoke_the_link(client, paid_token):
    _send(client, "refund.created", _refund("re_1", 999))
    assert _download(client, paid_token) == 303
    _send(client, "refund.created", _refund("re_2", 1000))
    assert _purchase().refunded_cents == 1999 and _download(client, paid_token) == 410


def test_a_failed_refund_does_not_revive_a_link_a_lost_dispute_killed(client, paid_token):
    _send(client, "charge.refunded", charge(1999))
    _send(client, "charge.dispute.closed", _dispute("dp_1", "lost"))
    _send(client, "refund.failed", _refund("re_1", 1999, "failed"), DAY2)
    assert _purchase().link_state == "revoked" and _download(client, paid_token) == 410


def test_a_refund_event_before_its_checkout_is_409_then_counts(client, product):
    from tests.helpers import completed

    early = stripe_event("refund.created", _refund("re_1", 1999))
    assert deliver(client, early).status_code == 409
    assert deliver(client, completed(product.id)).status_code == 200
    assert deliver(client, early).status_code == 200
    assert _purchase().link_state == "refunded"
