"""Receipts by SES: a text and an HTML part, the download link, the amount paid and the license
key where the product has them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.errors import ReceiptNotSent, ReceiptRejected
from chalicelib.money import format_amount
from chalicelib.web.pages import render


@dataclass(frozen=True)
class Receipt:
    to: str
    product_name: str
    amount_cents: int
    currency: str
    link: str
    downloads: int
    expires_at: datetime
    session_id: str
    # What the total is made of, from the Checkout Session (0 when nothing applied).
    subtotal_cents: int | None = None
    discount_cents: int = 0
    tax_cents: int = 0
    license_key: str | None = None  # for a product that hands out keys

    def lines(self) -> list[tuple[str, str]]:
        """Subtotal, discount, tax and total as (label, amount) when a discount or tax applies;
        nothing otherwise (the amount paid says it all)."""
        if not self.discount_cents and not self.tax_cents:
            return []
        c = self.currency
        subtotal = self.subtotal_cents
        if subtotal is None:  # a session without amount_subtotal: work it back from the total
            subtotal = self.amount_cents + self.discount_cents - self.tax_cents
        rows = [("Subtotal", format_amount(subtotal, c))]
        if self.discount_cents:
            rows.append(("Discount", format_amount(-self.discount_cents, c)))
        if self.tax_cents:
            rows.append(("Tax", format_amount(self.tax_cents, c)))
        rows.append(("Total", format_amount(self.amount_cents, c)))
        return rows


@dataclass(frozen=True)
class LibraryMail:
    """A sign-in link to the buyer's library."""

    to: str
    link: str
    expires_at: datetime


def library_url(link: str) -> str:
    """The library's "lost your link?" page under the base URL of a download link."""
    return link.rsplit("/download/", 1)[0] + "/library"


def receipt_for(
    purchase: Any,
    url: str,
    downloads: int,
    expires_at: datetime,
    license_key: str | None = None,
) -> Receipt:
    """The receipt of a paid purchase whose current link is `url` (and license key, if any)."""
    subtotal = getattr(purchase, "subtotal_cents", None)
    return Receipt(
        to=purchase.email,
        product_name=purchase.product_name,
        amount_cents=int(purchase.amount_cents),
        currency=purchase.currency,
        link=url,
        downloads=downloads,
        expires_at=expires_at,
        session_id=purchase.session_id,
        subtotal_cents=int(subtotal) if subtotal is not None else None,
        discount_cents=int(getattr(purchase, "discount_cents", 0) or 0),
        tax_cents=int(getattr(purchase, "tax_cents", 0) or 0),
        license_key=license_key,
    )


class Mailer:
    """Sends the store's email through an SES client it is given."""

    def __init__(self, ses: Any, sender: str, site_name: str) -> None:
        self._ses = ses
        self._sender = sender
        self._site_name = site_name

    def send_receipt(self, receipt: Receipt) -> str:
        """Send the receipt; return SES's message id.

        Raises:
            ReceiptRejected: SES refused this recipient for good (a bad or blocked address).
            ReceiptNotSent: SES failed or could not be reached (the caller retries later).
        """
        amount = format_amount(receipt.amount_cents, receipt.currency)
        subject = f"Your {self._site_name} receipt: {receipt.product_name}"
        context = {
            "r": receipt,
            "amount": amount,
            "site_name": self._site_name,
            "library": library_url(receipt.link),
        }
        return self._send(receipt.to, subject, "receipt", context)

    def send_library(self, mail: LibraryMail) -> str:
        """Send a sign-in link to the buyer's library; return SES's message id.

        Raises:
            ReceiptRejected: SES refused this recipient for good.
            ReceiptNotSent: SES failed or could not be reached.
        """
        subject = f"Your purchases at {self._site_name}"
        context = {"m": mail, "site_name": self._site_name}
        return self._send(mail.to, subject, "library_mail", context)

    def send_notice(self, to: str, subject: str, template: str, context: dict[str, Any]) -> str:
        """Send the seller a notice (`templates/<template>.txt` and `.html`); SES's message id.

        Raises:
            ReceiptRejected, ReceiptNotSent: as for a receipt (the notifier logs and moves on).
        """
        context = {"site_name": self._site_name, **context}
        return self._send(to, f"[{self._site_name}] {subject}", template, context)

    def _send(self, to: str, subject: str, template: str, context: dict[str, Any]) -> str:
        """Send `templates/<template>.txt` and `.html` to `to`; SES's message id."""
        try:
            answer = self._ses.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": render(f"{template}.txt", **context), "Charset": "UTF-8"},
                        "Html": {
                            "Data": render(f"{template}.html", **context),
                            "Charset": "UTF-8",
                        },
                    },
                },
            )
        except Exception as exc:  # botocore raises many kinds; all mean "not sent"
            if self._refuses_recipient(exc, to):
                raise ReceiptRejected("SES refused the buyer's address.") from exc
            raise ReceiptNotSent("The mail could not be sent.") from exc
        return str(answer.get("MessageId", ""))

    def _refuses_recipient(self, exc: Exception, recipient: str) -> bool:
        """SES refused this recipient for good. Told by SES's error code, never its wording:
        see REFUSALS."""
        error = getattr(exc, "response", None)
        error = error.get("Error", {}) if isinstance(error, dict) else {}
        return REFUSALS.get(str(error.get("Code", ""))) == "buyer"


# SES v1 `SendEmail`'s documented errors, by whose they are:
# - "buyer": the buyer's address cannot take mail, for good: `InvalidParameterValue` is how SES
#   answers a malformed destination ("Missing domain", "Illegal address", "Domain contains
#   illegal character"); the store's own sender is checked at setup, so this is the buyer's.
#   Recorded on the purchase, not retried.
# - "store": the store's setup, retryable (5xx) until the operator fixes it: `MessageRejected`
#   (an unverified sender, or any recipient while the account is in the SES sandbox, or content
#   SES refuses; suppressed addresses are accepted and bounce later, not refused here),
#   `MailFromDomainNotVerifiedException`, `ConfigurationSetDoesNotExistException`,
#   `ConfigurationSetSendingPausedException`, `AccountSendingPausedException`.
# Anything else (throttling, `ServiceUnavailable`, a network error) is passing: retryable.
REFUSALS = {
    "InvalidParameterValue": "buyer",
    "MessageRejected": "store",
    "MailFromDomainNotVerifiedException": "store",
    "MailFromDomainNotVerified": "store",
    "ConfigurationSetDoesNotExistException": "store",
    "ConfigurationSetDoesNotExist": "store",
    "ConfigurationSetSendingPausedException": "store",
    "AccountSendingPausedException": "store",
}
