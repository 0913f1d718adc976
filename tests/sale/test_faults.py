"""Fault injection: DynamoDB throttled or down at each write, SES down, S3 presign failing.
The answer is a 5xx (webhook) or a clear page (download), nothing is half-written, and a retry
finishes with exactly one purchase and one receipt."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from pynamodb.connection.base import Connection

from chalicelib import store
from chalicelib.platform import aws
from chalicelib.platform.tables import DailySales, DownloadLink, Purchase
from chalicelib.sale import fulfilment
from tests.conftest import checkout_session, deliver, fresh_store, sent_emails, stripe_event


class Outage:
    """Makes the Nth DynamoDB call of one operation fail, as throttling or a 500."""

    def __init__(
        self, monkeypatch, operation, nth=1, code="ProvisionedThroughputExceededException"
    ):
        self.operation, self.nth, self.code, self.seen = operation, nth, code, 0
        real = Connection._make_api_call
        outage = self

        def failing(conn, operation_name, operation_kwargs):
            if operation_name == outage.operation:
                outage.seen += 1
                if outage.seen == outage.nth:
                    raise ClientError(
                        {"Error": {"Code": outage.code, "Message": "injected"}}, operation_name
                    )
            return real(conn, operation_name, operation_kwargs)

        monkeypatch.setattr(Connection, "_make_api_call", failing)


def _payload(product):
    return stripe_event("checkout.session.completed", checkout_session(product_id=product.id))


def _counts():
    orders = sum(r.orders for r in DailySales.scan())
    return len(list(Purchase.scan())), len(list(DownloadLink.scan())), orders, len(sent_emails())


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "InternalServerError"])
@pytest.mark.parametrize("operation", ["GetItem", "TransactWriteItems"])
def test_dynamodb_failure_before_the_purchase_is_written_leaves_nothing(
    client, product, monkeypatch, operation, code, clock
):
    fresh_store(clock)  # a new container: nothing cached yet
    Outage(monkeypatch, operation, code=code)
    failed = deliver(client, _payload(product))
    assert failed.status_code == 503
    assert b"injected" not in failed.body and b"Traceback" not in failed.body
    assert _counts() == (0, 0, 0, 0)
    assert deliver(client, _payload(product)).status_code == 200
    assert _counts() == (1, 1, 1, 1)


def test_failure_recording_the_sent_receipt_answers_200_and_sends_no_more(
    client, product, monkeypatch
):
    monkeypatch.setattr(fulfilment, "RECEIPT_WAIT_SECONDS", 0.2)
    Outage(monkeypatch, "UpdateItem", nth=1, code="InternalServerError")
    # The buyer has the receipt, so this delivery succeeds (the operator gets a log line).
    assert deliver(client, _payload(product)).status_code == 200
    assert _counts() == (1, 1, 1, 1)
    # A duplicate cannot tell this from a claim holder that died: it sends nothing and asks
    # Stripe to come back later rather than claim a receipt went out.
    assert deliver(client, _payload(product)).status_code == 409
    assert _counts() == (1, 1, 1, 1)


def _commit_then(monkeypatch, after_commit):
    """The first TransactWriteItems commits, then `after_commit(real, conn, kwargs)` decides
    what the caller sees (the answer lost on the way back)."""
    real = Connection._make_api_call
    seen = {"n": 0}

    def lossy(conn, operation_name, operation_kwargs):
        result = real(conn, operation_name, operation_kwargs)
        if operation_name == "TransactWriteItems":
            seen["n"] += 1
            if seen["n"] == 1:
                return after_commit(real, conn, operation_kwargs)
        return result

    monkeypatch.setattr(Connection, "_make_api_call", lossy)


def test_sdk_retry_of_a_commit_whose_answer_was_lost_still_sends_the_receipt(
    client, product, monkeypatch
):
    # The SDK repeats the commit; DynamoDB (moto keeps no request tokens) fails its conditions.
    _commit_then(monkeypatch, lambda real, conn, kwargs: real(conn, "TransactWriteItems", kwargs))
    assert deliver(client, _payload(product)).status_code == 200
    assert _counts() == (1, 1, 1, 1)


def test_commit_answer_lost_for_good_ends_in_one_receipt_on_stripes_retry(
    client, product, monkeypatch, clock
):
    monkeypatch.setattr(fulfilment, "RECEIPT_WAIT_SECONDS", 0.2)

    def lost(real, conn, kwargs):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "lost"}}, "Tx")

    _commit_then(monkeypatch, lost)
    assert deliver(client, _payload(product)).status_code == 503
    assert _counts() == (1, 1, 1, 0)
    # Stripe's quick retry finds the claim of the failed call: not sent, so not "done".
    assert deliver(client, _payload(product)).status_code == 409
    clock.advance(fulfilment.CLAIM_LEASE + timedelta(seconds=1))
    assert deliver(client, _payload(product)).status_code == 200
    assert deliver(client, _payload(product)).status_code == 200
    assert _counts() == (1, 1, 1, 1)


def test_ses_throttled_then_retry_sends_exactly_one_receipt(client, product, monkeypatch):
    ses = aws.ses_client()
    real = ses.send_email
    calls = {"n": 0}

    def throttled(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Maximum sending rate"}}, "SendEmail"
            )
        return real(**kwargs)

    monkeypatch.setattr(ses, "send_email", throttled)
    assert deliver(client, _payload(product)).status_code == 503
    assert _counts() == (1, 1, 1, 0)
    assert deliver(client, _payload(product)).status_code == 200
    assert deliver(client, _payload(product)).status_code == 200
    assert _counts() == (1, 1, 1, 1)


@pytest.fixture
def token(client, product):
    deliver(client, _payload(product))
    return re.search(r"/download/([\w-]{43})", sent_emails()[0].body).group(1)


def _left():
    return next(iter(DownloadLink.scan())).downloads_left


def test_dynamodb_down_on_download_is_a_clear_page_and_takes_nothing(client, token, monkeypatch):
    Outage(monkeypatch, "UpdateItem", code="InternalServerError")
    page = client.http.post(f"/download/{token}")
    assert page.status_code == 503
    assert "Try again" in page.body.decode() and "InternalServerError" not in page.body.decode()
    assert _left() == 5


def test_presign_failure_gives_the_download_back(client, token, monkeypatch):
    def broken(*args, **kwargs):
        raise ClientError(
            {"Error": {"Code": "ExpiredToken", "Message": "session expired"}}, "GetObject"
        )

    with monkeypatch.context() as patch:
        patch.setattr(store.current().links, "presign", broken)
        page = client.http.post(f"/download/{token}")
    assert page.status_code == 503 and "ExpiredToken" not in page.body.decode()
    assert _left() == 5
    assert client.http.post(f"/download/{token}").status_code == 303
