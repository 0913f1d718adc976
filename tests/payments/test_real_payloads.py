"""Real Stripe payloads (tests/fixtures/stripe/, sources in its SOURCES.md) replayed against
the webhook, signed by the `stripe` library: every event type the store handles, from API
versions 2019-05-16 to 2025-06-30.basil.

Only ids and metadata are rewired (`rewire`). Where a test needs a value no public payload
had (a dispute closed `lost`, a refund that `failed`), it says so by passing it explicitly.
Outcomes the store did not produce when these were written (refunds per refund and taken
back, disputes one by one, `prevented`, early fraud warnings) were `xfail(strict=True)` until
that handling landed; they now pass.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.platform import config
from chalicelib.platform.tables import DailySales, DownloadLink, Purchase
from tests.fixtures.stripe import load, replay, rewire
from tests.helpers import WEBHOOK_SECRET, rows, sent_emails

SESSION, INTENT = "cs_test_real1", "pi_test_real1"

PAID_SESSIONS = [
    # (fixture, API version as the payload says)
    "2019-05-16/checkout.session.completed.json",
    "pay-rails/checkout.session.completed.data.json",
    "2025-06-30.basil/checkout.session.completed.jpy.json",
]
SALE = "pay-rails/checkout.session.completed.data.json"  # $19.00 paid, the sale refunds act on


def _event(name: str, product: Any, event_type: str | None = None, **override: Any):
    return rewire(
        load(name, event_type),
        session_id=SESSION,
        intent=INTENT,
        product_id=product.id,
        store=config.get_settings().store_id,
        **override,
    )


def _send(client: Any, event: dict[str, Any]) -> Any:
    return replay(client, event, WEBHOOK_SECRET)


def _sold(client: Any, product: Any) -> None:
    answer = _send(client, _event(SALE, product, "checkout.session.completed"))
    assert answer.status_code == 200, answer.body


def _state() -> dict[str, Any]:
    purchase = Purchase.get(SESSION)
    link = DownloadLink.get(purchase.token_hash) if purchase.token_hash else None
    return {
        "status": purchase.status,
        "refunded": int(purchase.refunded_cents or 0),
        "link": link.state if link else None,
        "receipts": len(sent_emails()),
    }


# -- checkouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAID_SESSIONS)
def test_a_paid_session_of_every_api_version_fulfils_exactly_once(client, product, name):
    event = _event(name, product, "checkout.session.completed")
    for _ in range(3):
        answer = _send(client, event)
        assert answer.status_code == 200, answer.body
    [purchase] = rows(Purchase)
    assert purchase.session_id == SESSION and purchase.status == "paid"
    assert len(rows(DownloadLink)) == 1
    # The 2019 session collected no address (no customer_details, customer_email null): the
    # purchase is recorded and nothing can be mailed.
    assert len(sent_emails()) == (1 if purchase.email else 0)


def test_the_2019_session_without_amount_total_is_recorded_at_its_display_items(client, product):
    """API 2019-05-16 sessions predate `amount_total`, `currency` and `payment_status`."""
    _send(client, _event(PAID_SESSIONS[0], product))
    purchase = Purchase.get(SESSION)
    assert (int(purchase.amount_cents), purchase.currency) == (3000, "usd")  # 2 x 1500


def test_an_unpaid_session_records_pending_and_sends_nothing(client, product):
    # No public completed-but-unpaid payload: the 2025 session with `payment_status` unpaid.
    event = _event(PAID_SESSIONS[2], product, payment_status="unpaid")
    assert _send(client, event).status_code == 200
    [purchase] = rows(Purchase)
    assert purchase.status == "pending" and purchase.token_hash is None
    assert sent_emails() == [] and rows(DownloadLink) == []


def test_a_no_payment_required_session_fulfils(client, product):
    event = _event(SALE, product, "checkout.session.completed")
    event["data"]["object"].update(payment_status="no_payment_required")  # not ids: explicit
    assert _send(client, event).status_code == 200
    assert _state() == {"status": "paid", "refunded": 0, "link": "active", "receipts": 1}


def test_stripes_own_open_session_fixture_is_refused_without_an_amount(client, product):
    """fixtures3.json's session is an *open* one (amount_total and currency null). Stripe sends
    no completion for an open session; the store cannot fulfil without an amount: 400, and
    nothing is written."""
    event = _event("2022-11-15/checkout.session.json", product, "checkout.session.completed")
    answer = _send(client, event)
    assert answer.status_code == 400
    assert rows(Purchase) == [] and sent_emails() == []


def test_async_payment_succeeded_fulfils_a_pending_purchase_once(client, product):
    pending = _event(PAID_SESSIONS[2], product, payment_status="unpaid")
    assert _send(client, pending).status_code == 200
    later = _event(PAID_SESSIONS[2], product, "checkout.session.async_payment_succeeded")
    assert _send(client, later).status_code == 200
    assert _send(client, later).status_code == 200
    assert _state()["status"] == "paid" and len(sent_emails()) == 1


def test_async_payment_failed_marks_failed_and_sends_nothing(client, product):
    pending = _event(PAID_SESSIONS[2], product, payment_status="unpaid")
    assert _send(client, pending).status_code == 200
    failed = _event(
        PAID_SESSIONS[2], product, "checkout.session.async_payment_failed", payment_status="unpaid"
    )
    assert _send(client, failed).status_code == 200
    assert Purchase.get(SESSION).status == "failed" and sent_emails() == []


# -- refunds -----------------------------------------------------------------------------------


def test_charge_refunded_records_the_partial_refund(client, product):
    _sold(client, product)
    refund = _event("pay-rails/charge.refunded.data.json", product, "charge.refunded")
    assert _send(client, refund).status_code == 200
    assert _send(client, refund).status_code == 200
    assert _state() == {"status": "paid", "refunded": 500, "link": "active", "receipts": 1}


def test_a_refund_before_its_purchase_is_409(client, product):
    refund = _event("pay-rails/charge.refunded.data.json", product, "charge.refunded")
    answer = _send(client, refund)
    assert answer.status_code == 409
    assert rows(Purchase) == []


REFUND = "2022-11-15/refund.json"


@pytest.mark.parametrize("event_type", ["refund.created", "refund.updated"])
def test_every_refund_event_is_acknowledged(client, product, event_type):
    _sold(client, product)
    assert _send(client, _event(REFUND, product, event_type)).status_code == 200


def test_refund_created_counts_that_refund(client, product):
    _sold(client, product)
    assert _send(client, _event(REFUND, product, "refund.created")).status_code == 200
    assert _state()["refunded"] == 100


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("refund.failed", "failed"),
        ("refund.updated", "canceled"),
        ("charge.refund.updated", "failed"),
    ],
)
def test_every_failed_refund_event_is_acknowledged(client, product, event_type, status):
    _sold(client, product)
    assert _send(client, _event(REFUND, product, event_type, status=status)).status_code == 200


@pytest.mark.parametrize("event_type", ["refund.failed", "charge.refund.updated"])
def test_a_failed_refund_is_taken_back(client, product, event_type):
    _sold(client, product)
    full = _event(REFUND, product, "refund.created", amount=1900)
    assert _send(client, full).status_code == 200
    failed = _event(REFUND, product, event_type, amount=1900, status="failed")
    assert _send(client, failed).status_code == 200
    assert _state() == {"status": "paid", "refunded": 0, "link": "active", "receipts": 1}
    assert sum(int(r.refunded_cents) for r in rows(DailySales)) == 0


# -- disputes ----------------------------------------------------------------------------------

CREATED = "2020-08-27/charge.dispute.created.json"
WON = "2020-08-27/charge.dispute.closed.won.json"
INQUIRY = "2025-04-30.basil/charge.dispute.created.inquiry.json"


@pytest.mark.parametrize("name", [CREATED, INQUIRY])
def test_a_dispute_puts_the_link_on_hold(client, product, name):
    _sold(client, product)
    assert _send(client, _event(name, product)).status_code == 200
    assert _state()["link"] == "on_hold"


def test_a_dispute_won_reopens_the_link(client, product):
    _sold(client, product)
    assert _send(client, _event(CREATED, product)).status_code == 200
    assert _send(client, _event(WON, product)).status_code == 200
    assert _state()["link"] == "active"


def test_a_dispute_lost_revokes_the_link(client, product):
    _sold(client, product)
    assert _send(client, _event(CREATED, product)).status_code == 200
    assert _send(client, _event(WON, product, status="lost")).status_code == 200
    assert _state()["link"] in ("revoked", "disputed", "lost")
    assert Purchase.get(SESSION).dispute_status == "lost"


def test_an_inquiry_closed_reopens_the_link(client, product):
    _sold(client, product)
    assert _send(client, _event(INQUIRY, product)).status_code == 200
    closed = _event(INQUIRY, product, "charge.dispute.closed", status="warning_closed")
    assert _send(client, closed).status_code == 200
    assert _state()["link"] == "active"


def test_a_dispute_prevented_reopens_the_link(client, product):
    _sold(client, product)
    assert _send(client, _event(INQUIRY, product)).status_code == 200
    closed = _event(INQUIRY, product, "charge.dispute.closed", status="prevented")
    assert _send(client, closed).status_code == 200
    assert _state()["link"] == "active"


def test_a_chargeback_after_a_closed_inquiry_is_a_new_dispute(client, product):
    _sold(client, product)
    assert _send(client, _event(INQUIRY, product)).status_code == 200
    closed = _event(INQUIRY, product, "charge.dispute.closed", status="warning_closed")
    assert _send(client, closed).status_code == 200
    assert _send(client, _event(CREATED, product)).status_code == 200
    assert _state()["link"] == "on_hold"
    assert _send(client, _event(WON, product, status="lost")).status_code == 200
    assert Purchase.get(SESSION).dispute_status == "lost"


# -- early fraud warnings ----------------------------------------------------------------------

EFW = "2022-11-15/radar.early_fraud_warning.json"


def test_an_early_fraud_warning_is_acknowledged(client, product):
    _sold(client, product)
    event = _event(EFW, product, "radar.early_fraud_warning.created")
    assert _send(client, event).status_code == 200


def test_an_early_fraud_warning_is_recorded_on_the_purchase(client, product):
    _sold(client, product)
    event = _event(EFW, product, "radar.early_fraud_warning.created")
    assert _send(client, event).status_code == 200
    assert getattr(Purchase.get(SESSION), "fraud_warnings", None)


# -- the corpus itself -------------------------------------------------------------------------


def test_every_fixture_is_listed_in_sources():
    from tests.fixtures.stripe import HERE

    sources = (HERE / "SOURCES.md").read_text()
    for path in HERE.rglob("*.json"):
        assert str(path.relative_to(HERE)) in sources, path
