"""The seller's notices (issue 14): with NOTIFY_EMAIL set, one short mail per sale, refund,
dispute opened or closed and early fraud warning, never repeated by Stripe's redeliveries or
retries; and whatever happens to a notice, the buyer's receipt and the webhook's answer are as
they would be without it."""

from __future__ import annotations

import html
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.platform import aws
from chalicelib.platform.tables import Purchase
from tests.helpers import (
    INTENT,
    SESSION,
    charge,
    completed,
    deliver,
    dispute,
    fresh_store,
    sent_emails,
    stripe_event,
)

SELLER = "seller@example.test"
BUYER = "buyer@example.test"


@pytest.fixture
def notify(aws, monkeypatch, clock):
    """NOTIFY_EMAIL set for the stage (request it before `client`)."""
    monkeypatch.setenv("NOTIFY_EMAIL", SELLER)
    fresh_store(clock)


def mails_to(address: str) -> list:
    return [m for m in sent_emails() if m.destinations.get("ToAddresses") == [address]]


def subjects_to(address: str = SELLER) -> list[str]:
    return [m.subject for m in mails_to(address)]


def _result(answer) -> str:
    assert answer.status_code == 200, answer.body
    return json.loads(answer.body)["result"]


def _failing_for(monkeypatch, address: str, error: Exception) -> None:
    """SES fails every mail to `address` with `error` and sends the rest (on both clients: the
    receipts' and the notices' brief one)."""
    for ses in (aws.ses_client(), aws.ses_brief_client()):
        _fail_on(monkeypatch, ses, address, error)


def _fail_on(monkeypatch, ses, address: str, error: Exception) -> None:
    real = ses.send_email

    def send(**kwargs):
        if kwargs["Destination"]["ToAddresses"] == [address]:
            raise error
        return real(**kwargs)

    monkeypatch.setattr(ses, "send_email", send)


def test_a_sale_mails_the_seller_once_after_the_buyers_receipt(notify, client, product):
    payload = completed(product.id)
    assert _result(deliver(client, payload)) == "fulfilled"
    assert _result(deliver(client, payload)) == "duplicate"
    assert [m.destinations["ToAddresses"] for m in sent_emails()] == [[BUYER], [SELLER]]
    [notice] = mails_to(SELLER)
    assert notice.subject == "[Bull Store] New sale: The Bull Handbook ($19.99)"
    assert "buyer@example.test" in notice.body and SESSION in notice.body
    assert Purchase.get(SESSION).seller_notified_at is not None


def test_twenty_concurrent_deliveries_mail_the_seller_once(notify, client, product):
    payload = completed(product.id)
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: deliver(client, payload).status_code, range(20)))
    assert statuses == [200] * 20
    assert len(mails_to(BUYER)) == 1
    assert len(mails_to(SELLER)) == 1


def test_a_receipt_retried_after_ses_failed_sends_the_sale_notice_once(
    notify, client, product, monkeypatch
):
    payload = completed(product.id)
    ses = aws.ses_client()
    real = ses.send_email
    monkeypatch.setattr(ses, "send_email", _raise(EndpointConnectionError(endpoint_url="x")))
    assert deliver(client, payload).status_code == 503
    assert sent_emails() == []
    monkeypatch.setattr(ses, "send_email", real)
    assert _result(deliver(client, payload)) == "fulfilled"
    assert _result(deliver(client, payload)) == "duplicate"
    assert len(mails_to(BUYER)) == 1 and len(mails_to(SELLER)) == 1


def test_the_thank_you_page_after_the_webhook_mails_the_seller_nothing_more(
    notify, client, product
):
    from chalicelib import store

    assert _result(deliver(client, completed(product.id))) == "fulfilled"
    # The page runs the same fulfilment for the same session: nothing more to mail.
    assert store.current().fulfilment().ensure_receipt(SESSION).result == "duplicate"
    assert len(mails_to(SELLER)) == 1


def _raise(error: Exception):
    def fail(**kwargs):
        raise error

    return fail


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"),
        ClientError({"Error": {"Code": "Throttling", "Message": "rate"}}, "SendEmail"),
        ClientError({"Error": {"Code": "InvalidParameterValue", "Message": "x"}}, "SendEmail"),
        ClientError({"Error": {"Code": "MessageRejected", "Message": "x"}}, "SendEmail"),
    ],
    ids=["ses-down", "throttled", "address-refused", "message-rejected"],
)
def test_a_failing_notice_leaves_the_buyer_one_receipt_and_the_webhook_200(
    notify, client, product, monkeypatch, error
):
    _failing_for(monkeypatch, SELLER, error)
    payload = completed(product.id)
    assert _result(deliver(client, payload)) == "fulfilled"
    # Stripe has its 200: a redelivery (or a late duplicate) sends no second receipt.
    assert _result(deliver(client, payload)) == "duplicate"
    assert len(mails_to(BUYER)) == 1
    assert mails_to(SELLER) == []
    purchase = Purchase.get(SESSION)
    assert purchase.receipt_sent_at is not None and purchase.receipt_claimed_at is not None
    # The notice was claimed before sending, so it is lost rather than ever sent twice.
    monkeypatch.undo()
    assert _result(deliver(client, payload)) == "duplicate"
    assert mails_to(SELLER) == []


def test_a_notice_that_cannot_be_claimed_leaves_the_sale_untouched(
    notify, client, product, monkeypatch
):
    from pynamodb.connection.base import Connection

    real = Connection._make_api_call

    def no_claim(conn, name, kwargs):
        if name == "UpdateItem" and "seller_notified_at" in json.dumps(kwargs):
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, name)
        return real(conn, name, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", no_claim)
    assert _result(deliver(client, completed(product.id))) == "fulfilled"
    assert len(mails_to(BUYER)) == 1 and mails_to(SELLER) == []


def test_without_notify_email_the_seller_gets_nothing(client, product):
    payload = completed(product.id)
    deliver(client, payload)
    deliver(client, stripe_event("charge.refunded", charge(1999)))
    deliver(client, stripe_event("charge.dispute.created", dispute()))
    assert [m.destinations["ToAddresses"] for m in sent_emails()] == [[BUYER]]
    assert Purchase.get(SESSION).seller_notified_at is None


def test_a_product_name_with_markup_is_escaped_in_the_notice(notify, client, product, monkeypatch):
    from chalicelib import store

    store.current().catalog.update(product.id, {"name": "<script>alert(1)</script> & Co"})
    ses = aws.ses_brief_client()
    real, parts = ses.send_email, []

    def recording(**kwargs):
        parts.append(kwargs["Message"]["Body"])
        return real(**kwargs)

    monkeypatch.setattr(ses, "send_email", recording)
    deliver(client, completed(product.id))
    [notice] = mails_to(SELLER)
    assert "<script>" not in notice.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in notice.body
    # The text part and the subject are plain text: the name as the seller typed it.
    assert "Product: <script>alert(1)</script> & Co" in parts[-1]["Text"]["Data"]
    assert "<script>alert(1)</script> & Co" in notice.subject


# -- after the sale ----------------------------------------------------------------------------


@pytest.fixture
def sold(notify, client, product):
    assert _result(deliver(client, completed(product.id))) == "fulfilled"
    return client


def _after_sale_notices() -> list[str]:
    return [s.removeprefix("[Bull Store] ") for s in subjects_to()[1:]]


def test_a_partial_then_full_refund_each_mail_once_however_often_reported(sold):
    partial = stripe_event("charge.refunded", charge(500), event_id="evt_r1")
    full = stripe_event("charge.refunded", charge(1999), event_id="evt_r2")
    assert _result(deliver(sold, partial)) == "refunded"
    assert _result(deliver(sold, partial)) == "duplicate"
    assert _result(deliver(sold, full)) == "refunded"
    assert _result(deliver(sold, full)) == "duplicate"
    assert _after_sale_notices() == [
        "Refund: The Bull Handbook ($5.00)",
        "Refund: The Bull Handbook ($14.99)",
    ]
    assert "$19.99 of $19.99" in mails_to(SELLER)[-1].body


def test_a_refund_reported_by_id_after_the_charge_mails_nothing_more(sold):
    refund = {"id": "re_1", "object": "refund", "amount": 1999, "payment_intent": INTENT}
    refund["status"] = "succeeded"
    deliver(sold, stripe_event("charge.refunded", charge(1999)))
    deliver(sold, stripe_event("refund.created", refund))
    deliver(sold, stripe_event("refund.updated", refund))
    assert _after_sale_notices() == ["Refund: The Bull Handbook ($19.99)"]


def test_a_failed_refund_mails_that_it_was_taken_back(sold):
    refund = {"id": "re_1", "object": "refund", "amount": 500, "payment_intent": INTENT}
    deliver(sold, stripe_event("refund.created", {**refund, "status": "succeeded"}))
    deliver(sold, stripe_event("refund.failed", {**refund, "status": "failed"}))
    deliver(sold, stripe_event("refund.failed", {**refund, "status": "failed"}))
    assert _after_sale_notices() == [
        "Refund: The Bull Handbook ($5.00)",
        "Refund taken back: The Bull Handbook",
    ]


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_a_dispute_mails_when_it_opens_and_when_it_closes_with_its_outcome(sold, outcome):
    opened = stripe_event("charge.dispute.created", dispute())
    closed = stripe_event("charge.dispute.closed", dispute(outcome))
    for payload in (opened, opened, closed, closed, opened):
        assert deliver(sold, payload).status_code == 200
    assert _after_sale_notices() == [
        "Dispute opened: The Bull Handbook",
        f"Dispute closed ({outcome}): The Bull Handbook",
    ]
    closing = html.unescape(mails_to(SELLER)[-1].body)
    assert "Disputed: $19.99" in _text(closing)
    assert ("revoked" in closing) == (outcome == "lost")


def test_an_early_fraud_warning_mails_once(sold):
    warning = {
        "id": "issfr_1",
        "object": "radar.early_fraud_warning",
        "actionable": True,
        "charge": "ch_1",
        "fraud_type": "made_with_stolen_card",
        "payment_intent": INTENT,
    }
    payload = stripe_event("radar.early_fraud_warning.created", warning)
    assert _result(deliver(sold, payload)) == "fraud_warning"
    assert _result(deliver(sold, payload)) == "duplicate"
    assert _after_sale_notices() == ["Early fraud warning: The Bull Handbook"]
    assert "made_with_stolen_card" in mails_to(SELLER)[-1].body


def test_a_failing_after_sale_notice_still_records_the_refund_and_answers_200(sold, monkeypatch):
    _failing_for(monkeypatch, SELLER, EndpointConnectionError(endpoint_url="x"))
    payload = stripe_event("charge.refunded", charge(1999))
    assert _result(deliver(sold, payload)) == "refunded"
    assert Purchase.get(SESSION).refunded_cents == 1999
    assert _result(deliver(sold, payload)) == "duplicate"


def test_the_seller_is_not_mailed_for_their_own_resend(sold, admin):
    answer = sold.http.post(f"/admin/purchases/{SESSION}/resend", headers=admin)
    assert answer.status_code == 200
    assert len(mails_to(SELLER)) == 1  # the sale's only


def test_notices_go_out_in_the_sale_currency_exponent(notify, client, product, monkeypatch):
    deliver(client, completed(product.id, amount=1500, currency="jpy"))
    [notice] = subjects_to()
    assert notice.endswith("(¥1,500)")


def test_concurrent_deliveries_of_one_refund_mail_the_seller_once(sold):
    payload = stripe_event("charge.refunded", charge(1999))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _result(deliver(sold, payload)), range(8)))
    assert sorted(results) == ["duplicate"] * 7 + ["refunded"]
    assert _after_sale_notices() == ["Refund: The Bull Handbook ($19.99)"]


def _text(body: str) -> str:
    """An HTML mail's words without its tags."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", body))


def test_a_receipt_sent_again_after_its_claim_expired_brings_no_second_notice(
    notify, client, product, monkeypatch, clock
):
    from datetime import timedelta

    from chalicelib.sale import fulfilment
    from tests.helpers import Outage

    monkeypatch.setattr(fulfilment, "RECEIPT_WAIT_SECONDS", 0.2)
    # The receipt goes out but recording it fails: after the claim's lease a redelivery cannot
    # tell that from a dead claim holder and mails the buyer again; the seller's notice is
    # claimed on the purchase, so it does not repeat.
    Outage(monkeypatch, "UpdateItem", nth=1, code="InternalServerError")
    payload = completed(product.id)
    assert _result(deliver(client, payload)) == "fulfilled"
    clock.advance(fulfilment.CLAIM_LEASE + timedelta(seconds=1))
    assert _result(deliver(client, payload)) == "fulfilled"
    assert len(mails_to(BUYER)) == 2
    assert len(mails_to(SELLER)) == 1


def test_a_notice_tries_ses_once_and_briefly_while_stripe_waits():
    config = aws.ses_brief_client().meta.config
    assert config.retries["total_max_attempts"] == 1
    assert (config.connect_timeout, config.read_timeout) == (2, 5)
    # Receipts keep their retries: a buyer's receipt is worth waiting for.
    assert aws.ses_client().meta.config.retries["total_max_attempts"] > 1
