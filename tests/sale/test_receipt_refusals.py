"""SES's refusals told apart by error code, never by message: the buyer's address (recorded on
the purchase, not retried) or the store's own setup and passing faults (retryable)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.errors import ReceiptNotSent, ReceiptRejected
from chalicelib.sale.receipts import Mailer, Receipt

RECEIPT = Receipt(
    to="buyer@example.test",
    product_name="The Bull Handbook",
    amount_cents=1999,
    currency="usd",
    link="https://store.example.test/download/x",
    downloads=5,
    expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    session_id="cs_test_a1",
)


class RefusingSes:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def send_email(self, **kwargs):
        raise self.error


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "SendEmail")


def _send(error: Exception) -> None:
    Mailer(RefusingSes(error), "store@example.test", "Bull Store").send_receipt(RECEIPT)


@pytest.mark.parametrize(
    "message",
    ["Missing domain", "Illegal address", "Domain contains illegal character",
     # the wording does not matter, even when it names the store's sender
     "store@example.test: something"],
)  # fmt: skip
def test_a_malformed_address_is_the_buyers_for_good(message):
    with pytest.raises(ReceiptRejected):
        _send(_client_error("InvalidParameterValue", message))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        # the sandbox refuses any unverified recipient: the store's setup, whoever it names
        ("MessageRejected", "Email address is not verified. The following identities failed "
         "the check in region US-EAST-1: buyer@example.test"),
        ("MessageRejected", "Email address is not verified: store@example.test"),
        ("MailFromDomainNotVerifiedException", "buyer@example.test"),
        ("MailFromDomainNotVerified", "Mail-From domain not verified"),
        ("ConfigurationSetDoesNotExistException", "Configuration set does not exist"),
        ("ConfigurationSetDoesNotExist", "buyer@example.test"),
        ("ConfigurationSetSendingPausedException", "paused"),
        ("AccountSendingPausedException", "Sending paused for this account."),
        ("Throttling", "Maximum sending rate exceeded."),
        ("ServiceUnavailable", "Service Unavailable"),
        ("InternalFailure", "buyer@example.test"),
        ("SomethingNew", "Missing domain"),
    ],
)  # fmt: skip
def test_the_stores_setup_and_passing_faults_stay_retryable(code, message):
    with pytest.raises(ReceiptNotSent):
        _send(_client_error(code, message))


def test_no_answer_at_all_stays_retryable():
    with pytest.raises(ReceiptNotSent):
        _send(EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"))
