"""Fulfilment of a paid checkout, exactly once: the purchase, its link, the day's rollup and
one receipt, however often Stripe delivers and whatever SES does. (Faults in DynamoDB:
test_fulfilment_faults.py.)"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib.platform.tables import DailySales, DownloadLink, Purchase
from tests.helpers import checkout_session, completed, deliver, rows, sent_emails, stripe_event


def test_paid_checkout_records_purchase_link_rollup_and_sends_receipt(client, product):
    response = deliver(client, completed(product.id))

    assert response.status_code == 200
    purchase = Purchase.get("cs_test_a1")
    assert (purchase.status, purchase.amount_cents, purchase.email) == (
        "paid",
        1999,
        "buyer@example.test",
    )
    assert purchase.payment_intent == "pi_test_a1"
    links = rows(DownloadLink)
    assert len(links) == 1 and links[0].downloads_left == 5
    rollups = rows(DailySales)
    assert [(r.orders, r.gross_cents) for r in rollups] == [(1, 1999)]
    mails = sent_emails()
    assert len(mails) == 1
    assert mails[0].destinations["ToAddresses"] == ["buyer@example.test"]
    assert "$19.99" in mails[0].body and "https://store.example.test/download/" in mails[0].body


def test_duplicate_webhook_sends_one_receipt(client, product):
    payload = completed(product.id)
    for _ in range(3):
        assert deliver(client, payload).status_code == 200

    assert len(rows(Purchase)) == 1
    assert len(sent_emails()) == 1
    assert rows(DailySales)[0].orders == 1


def test_twenty_concurrent_deliveries_make_one_purchase_one_receipt_one_order(client, product):
    payload = completed(product.id)
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: deliver(client, payload).status_code, range(20)))

    assert statuses == [200] * 20
    assert len(rows(Purchase)) == 1
    assert len(rows(DownloadLink)) == 1
    assert len(sent_emails()) == 1
    assert rows(DailySales)[0].orders == 1


def test_unpaid_completion_then_async_success_sends_one_receipt(client, product):
    unpaid = completed(product.id, payment_status="unpaid")
    assert deliver(client, unpaid).status_code == 200
    assert Purchase.get("cs_test_a1").status == "pending"
    assert sent_emails() == []
    assert rows(DailySales) == []

    succeeded = stripe_event(
        "checkout.session.async_payment_succeeded",
        checkout_session(product_id=product.id, payment_status="paid"),
    )
    assert deliver(client, succeeded).status_code == 200
    assert deliver(client, unpaid).status_code == 200  # a late duplicate changes nothing

    assert Purchase.get("cs_test_a1").status == "paid"
    assert len(sent_emails()) == 1
    assert rows(DailySales)[0].orders == 1


def test_async_failure_marks_the_purchase_failed_and_sends_nothing(client, product):
    deliver(client, completed(product.id, payment_status="unpaid"))
    failed = stripe_event(
        "checkout.session.async_payment_failed",
        checkout_session(product_id=product.id, payment_status="unpaid"),
    )
    assert deliver(client, failed).status_code == 200
    assert Purchase.get("cs_test_a1").status == "failed"
    assert sent_emails() == [] and rows(DownloadLink) == []


def test_ses_outage_is_503_then_the_retry_sends_exactly_one_receipt(client, product, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.platform import aws

    payload = completed(product.id)
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
    assert rows(DailySales)[0].orders == 1


def test_an_address_ses_refuses_for_good_is_recorded_and_not_retried(client, product, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.platform import aws

    def refused(**kwargs):
        raise ClientError(
            # SES's code for a malformed destination; a refusal is told by code (see
            # chalicelib.sale.receipts.REFUSALS), never by its message.
            {"Error": {"Code": "InvalidParameterValue", "Message": "Missing domain"}},
            "SendEmail",
        )

    monkeypatch.setattr(aws.ses_client(), "send_email", refused)
    payload = completed(product.id)
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
    assert deliver(client, completed(product.id)).status_code == 503
    assert Purchase.get("cs_test_a1").receipt_error is None


def test_ses_refusing_the_whole_account_stays_retryable(client, product, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.platform import aws

    def paused(**kwargs):
        raise ClientError(
            {"Error": {"Code": "MessageRejected", "Message": "Sending paused for this account."}},
            "SendEmail",
        )

    monkeypatch.setattr(aws.ses_client(), "send_email", paused)
    assert deliver(client, completed(product.id)).status_code == 503
    assert Purchase.get("cs_test_a1").receipt_error is None
