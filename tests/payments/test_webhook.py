"""The Stripe webhook: signatures, exactly-once fulfilment, and receipts."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.platform.tables import DailySales, DownloadLink, Purchase
from tests.conftest import checkout_session, deliver, sent_emails, signed_headers, stripe_event


def _completed(product, **kwargs):
    return stripe_event(
        "checkout.session.completed", checkout_session(product_id=product.id, **kwargs)
    )


def _all(model):
    return list(model.scan())


def test_paid_checkout_records_purchase_link_rollup_and_sends_receipt(client, product):
    response = deliver(client, _completed(product))

    assert response.status_code == 200
    purchase = Purchase.get("cs_test_a1")
    assert (purchase.status, purchase.amount_cents, purchase.email) == (
        "paid",
        1999,
        "buyer@example.test",
    )
    assert purchase.payment_intent == "pi_test_a1"
    links = _all(DownloadLink)
    assert len(links) == 1 and links[0].downloads_left == 5
    rollups = _all(DailySales)
    assert [(r.orders, r.gross_cents) for r in rollups] == [(1, 1999)]
    mails = sent_emails()
    assert len(mails) == 1
    assert mails[0].destinations["ToAddresses"] == ["buyer@example.test"]
    assert "$19.99" in mails[0].body and "https://store.example.test/download/" in mails[0].body


def test_duplicate_webhook_sends_one_receipt(client, product):
    payload = _completed(product)
    for _ in range(3):
        assert deliver(client, payload).status_code == 200

    assert len(_all(Purchase)) == 1
    assert len(sent_emails()) == 1
    assert _all(DailySales)[0].orders == 1


def test_twenty_concurrent_deliveries_make_one_purchase_one_receipt_one_order(client, product):
    payload = _completed(product)
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: deliver(client, payload).status_code, range(20)))

    assert statuses == [200] * 20
    assert len(_all(Purchase)) == 1
    assert len(_all(DownloadLink)) == 1
    assert len(sent_emails()) == 1
    assert _all(DailySales)[0].orders == 1


def test_unpaid_completion_then_async_success_sends_one_receipt(client, product):
    unpaid = _completed(product, payment_status="unpaid")
    assert deliver(client, unpaid).status_code == 200
    assert Purchase.get("cs_test_a1").status == "pending"
    assert sent_emails() == []
    assert _all(DailySales) == []

    succeeded = stripe_event(
        "checkout.session.async_payment_succeeded",
        checkout_session(product_id=product.id, payment_status="paid"),
    )
    assert deliver(client, succeeded).status_code == 200
    assert deliver(client, unpaid).status_code == 200  # a late duplicate changes nothing

    assert Purchase.get("cs_test_a1").status == "paid"
    assert len(sent_emails()) == 1
    assert _all(DailySales)[0].orders == 1


def test_async_failure_marks_the_purchase_failed_and_sends_nothing(client, product):
    deliver(client, _completed(product, payment_status="unpaid"))
    failed = stripe_event(
        "checkout.session.async_payment_failed",
        checkout_session(product_id=product.id, payment_status="unpaid"),
    )
    assert deliver(client, failed).status_code == 200
    assert Purchase.get("cs_test_a1").status == "failed"
    assert sent_emails() == [] and _all(DownloadLink) == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Stripe-Signature": "garbage"},
        {"Stripe-Signature": "t=123,v1=deadbeef"},
    ],
    ids=["missing", "garbage", "wrong"],
)
def test_bad_signature_is_400_and_writes_nothing(client, product, headers):
    payload = _completed(product)
    response = client.http.post(
        "/webhooks/stripe", body=payload, headers={"Content-Type": "application/json", **headers}
    )
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["code"] == "bad_signature"
    assert _all(Purchase) == [] and sent_emails() == []


def test_signature_by_another_secret_is_400(client, product):
    payload = _completed(product)
    response = deliver(client, payload, secret="whsec_someone_else")
    assert response.status_code == 400
    assert _all(Purchase) == []


def test_stale_signature_is_400_and_writes_nothing(client, product):
    payload = _completed(product)
    response = deliver(client, payload, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert _all(Purchase) == []


def test_signature_over_reserialised_json_does_not_pass(client, product):
    payload = _completed(product)
    headers = signed_headers(payload)
    reserialised = json.dumps(json.loads(payload), indent=2).encode()
    response = client.http.post("/webhooks/stripe", body=reserialised, headers=headers)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "payload",
    [
        b"{}",
        b"[]",
        b"not json",
        b'{"type": "checkout.session.completed"}',
        b'{"type": "checkout.session.completed", "created": 1, "data": {"object": "x"}}',
        "caf\u00e9 \u2603".encode("utf-16"),
    ],
    ids=["empty-object", "list", "text", "no-data", "object-not-dict", "not-utf8"],
)
def test_signed_body_that_is_not_an_event_is_400(client, product, payload):
    headers = {"Content-Type": "application/json"}
    if payload.startswith(b"\xff") or payload.startswith(b"\xfe"):
        headers["Stripe-Signature"] = "t=1,v1=00"
    else:
        headers.update(signed_headers(payload))
    response = client.http.post("/webhooks/stripe", body=payload, headers=headers)
    assert response.status_code == 400
    assert _all(Purchase) == []


def test_unhandled_event_type_is_acknowledged_and_ignored(client, product):
    payload = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    response = deliver(client, payload)
    assert response.status_code == 200
    assert json.loads(response.body)["result"] == "ignored"


def test_session_of_another_store_is_acknowledged_and_ignored(client, product):
    payload = stripe_event(
        "checkout.session.completed", checkout_session(product_id="prod_notours12345")
    )
    response = deliver(client, payload)
    assert response.status_code == 200
    assert _all(Purchase) == [] and sent_emails() == []


def test_ses_outage_is_503_then_the_retry_sends_exactly_one_receipt(client, product, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.platform import aws

    payload = _completed(product)
    ses = aws.ses_client()
    real_send = ses.send_email

    def outage(**kwargs):
        raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    monkeypatch.setattr(ses, "send_email", outage)
    failed = deliver(client, payload)
    assert failed.status_code == 503
    assert b"amazonaws" not in failed.body and b"Traceback" not in failed.body
    assert Purchase.get("cs_test_a1").receipt_sent_at is None

    monkeypatch.setattr(ses, "send_email", real_send)
    assert deliver(client, payload).status_code == 200
    assert deliver(client, payload).status_code == 200
    assert len(sent_emails()) == 1
    assert Purchase.get("cs_test_a1").receipt_sent_at is not None
    assert _all(DailySales)[0].orders == 1


def test_an_address_ses_refuses_for_good_is_recorded_and_not_retried(client, product, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.platform import aws

    def refused(**kwargs):
        raise ClientError(
            {
                "Error": {
                    "Code": "MessageRejected",
                    "Message": "Email address is not verified. The following identities failed "
                    "the check in region US-EAST-1: buyer@example.test",
                }
            },
            "SendEmail",
        )

    monkeypatch.setattr(aws.ses_client(), "send_email", refused)
    payload = _completed(product)
    # A retry cannot help, so Stripe is not asked for one; the seller sees why on the purchase.
    assert deliver(client, payload).status_code == 200
    assert deliver(client, payload).status_code == 200
    purchase = Purchase.get("cs_test_a1")
    assert purchase.status == "paid" and purchase.receipt_error
    assert purchase.receipt_sent_at is None


def test_ses_refusing_our_own_sender_stays_retryable(client, product, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.platform import aws

    def unverified(**kwargs):
        raise ClientError(
            {
                "Error": {
                    "Code": "MessageRejected",
                    "Message": "Email address is not verified: store@example.test",
                }
            },
            "SendEmail",
        )

    monkeypatch.setattr(aws.ses_client(), "send_email", unverified)
    assert deliver(client, _completed(product)).status_code == 503
    assert Purchase.get("cs_test_a1").receipt_error is None


def test_a_session_of_another_stage_on_the_same_stripe_account_is_ignored(client, product):
    session = checkout_session(product_id=product.id)
    session["metadata"]["store"] = "bull-prod"
    answer = deliver(client, stripe_event("checkout.session.completed", session))
    assert answer.status_code == 200 and b"ignored" in answer.body
    assert _all(Purchase) == [] and sent_emails() == []


def test_ses_refusing_the_whole_account_stays_retryable(client, product, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.platform import aws

    def paused(**kwargs):
        raise ClientError(
            {"Error": {"Code": "MessageRejected", "Message": "Sending paused for this account."}},
            "SendEmail",
        )

    monkeypatch.setattr(aws.ses_client(), "send_email", paused)
    assert deliver(client, _completed(product)).status_code == 503
    assert Purchase.get("cs_test_a1").receipt_error is None
