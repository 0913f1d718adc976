"""Fulfilment under faults: DynamoDB throttled or down at each write, SES down, a commit's
answer lost. The webhook answers a 5xx or 409, nothing is half-written, and Stripe's retry
finishes with exactly one purchase and one receipt. (Faults on a download: test_links.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from pynamodb.connection.base import Connection

from chalicelib.platform import aws
from chalicelib.sale import fulfilment
from tests.helpers import Outage, completed, counts, deliver, fresh_store


def _sale_counts():
    """(purchases, links, orders, receipts)."""
    c = counts()
    return c["purchases"], c["links"], c["orders"], c["receipts"]


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "InternalServerError"])
@pytest.mark.parametrize("operation", ["GetItem", "TransactWriteItems"])
def test_dynamodb_failure_before_the_purchase_is_written_leaves_nothing(
    client, product, monkeypatch, operation, code, clock
):
    fresh_store(clock)  # a new container: nothing cached yet
    Outage(monkeypatch, operation, code=code)
    failed = deliver(client, completed(product.id))
    assert failed.status_code == 503
    assert b"injected" not in failed.body and b"Traceback" not in failed.body
    assert _sale_counts() == (0, 0, 0, 0)
    assert deliver(client, completed(product.id)).status_code == 200
    assert _sale_counts() == (1, 1, 1, 1)


def test_failure_recording_the_sent_receipt_answers_200_and_sends_no_more(
    client, product, monkeypatch
):
    monkeypatch.setattr(fulfilment, "RECEIPT_WAIT_SECONDS", 0.2)
    Outage(monkeypatch, "UpdateItem", nth=1, code="InternalServerError")
    # The buyer has the receipt, so this delivery succeeds (the operator gets a log line).
    assert deliver(client, completed(product.id)).status_code == 200
    assert _sale_counts() == (1, 1, 1, 1)
    # A duplicate cannot tell this from a claim holder that died: it sends nothing and asks
    # Stripe to come back later rather than claim a receipt went out.
    assert deliver(client, completed(product.id)).status_code == 409
    assert _sale_counts() == (1, 1, 1, 1)


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
    assert deliver(client, completed(product.id)).status_code == 200
    assert _sale_counts() == (1, 1, 1, 1)


def test_commit_answer_lost_for_good_ends_in_one_receipt_on_stripes_retry(
    client, product, monkeypatch, clock
):
    monkeypatch.setattr(fulfilment, "RECEIPT_WAIT_SECONDS", 0.2)

    def lost(real, conn, kwargs):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "lost"}}, "Tx")

    _commit_then(monkeypatch, lost)
    assert deliver(client, completed(product.id)).status_code == 503
    assert _sale_counts() == (1, 1, 1, 0)
    # Stripe's quick retry finds the claim of the failed call: not sent, so not "done".
    assert deliver(client, completed(product.id)).status_code == 409
    clock.advance(fulfilment.CLAIM_LEASE + timedelta(seconds=1))
    assert deliver(client, completed(product.id)).status_code == 200
    assert deliver(client, completed(product.id)).status_code == 200
    assert _sale_counts() == (1, 1, 1, 1)


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
    assert deliver(client, completed(product.id)).status_code == 503
    assert _sale_counts() == (1, 1, 1, 0)
    assert deliver(client, completed(product.id)).status_code == 200
    assert deliver(client, completed(product.id)).status_code == 200
    assert _sale_counts() == (1, 1, 1, 1)
