"""Notices to the seller at `NOTIFY_EMAIL`: a short mail per sale, refund, dispute (opened, and
closed with its outcome) and early fraud warning. (The daily summary is built by `sale.summary`.)

A notice is a courtesy and never stands in the buyer's way: it goes out after the buyer's part
is done, and any failure (DynamoDB, SES down, the address refused) is logged and swallowed, so
it never fails, delays past its own attempt, or repeats a fulfilment or a webhook's answer.

At most once: a sale notice first sets the purchase's `seller_notified_at` on condition that it
is unset, so of any number of deliveries and retries of one sale exactly one may send it (if
that one's mail then fails, none does: a lost notice beats a repeated one). After the sale,
`PurchaseChanges` reports only a change it newly wrote, never a duplicate delivery's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import Unavailable
from chalicelib.money import format_amount
from chalicelib.platform.tables import Purchase, RateCount
from chalicelib.platform.transactions import condition_failed
from chalicelib.sale.figures import DateRange, Reports
from chalicelib.sale.receipts import Mailer
from chalicelib.sale.standing import CLOSED_RANK, recorded

logger = logging.getLogger(__name__)

SUMMARY_MARK_KEPT = timedelta(days=7)

CLOSED_NOTES = {
    "won": "You won it: downloads work again unless something else stopped them.",
    "lost": "You lost it: the link is revoked and the amount counts as disputed today.",
    "warning_closed": "The inquiry closed without becoming a dispute; downloads work again.",
    "prevented": "It was prevented; downloads work again.",
    "charge_refunded": "It closed because the charge was refunded.",
}


@dataclass(frozen=True)
class Table:
    """A titled table in a notice: its column names and rows of text."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]


@dataclass(frozen=True)
class Notice:
    """One mail to the seller: a subject, a heading, (label, value) rows, tables and a note."""

    subject: str
    heading: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    note: str = ""


class SellerNotices:
    """Mails the seller's notices to `to` (nothing at all when `to` is empty)."""

    def __init__(
        self,
        mailer: Mailer,
        to: str,
        clock: Callable[[], datetime],
        reports: Reports | None = None,
        summaries_sent: type[RateCount] | None = None,
    ) -> None:
        self._summaries_sent = summaries_sent
        self._mailer = mailer
        self._to = to
        self._clock = clock
        self._reports = reports

    @property
    def enabled(self) -> bool:
        return bool(self._to)

    def sale(self, purchase: Purchase) -> bool:
        """Mail the seller a paid purchase unless some delivery already claimed its notice.
        Returns whether this call sent it; never raises."""
        if not self._to:
            return False
        try:
            purchase.update(
                actions=[Purchase.seller_notified_at.set(self._clock())],
                condition=Purchase.seller_notified_at.does_not_exist()
                & (Purchase.status == "paid"),
            )
        except Exception as exc:  # a notice never fails the sale
            if not condition_failed(exc):
                logger.error("sale notice of %s not claimed: %s", purchase.session_id, exc)
            return False
        return self.send(sale_notice(purchase))

    def changed(self, result: str, purchase: Purchase, change: Any, at: datetime) -> None:
        """A change after the sale that `PurchaseChanges` just wrote (`purchase` as read before
        it, `change` what was written): mail the refunds, disputes and fraud warnings."""
        if not self._to:
            return
        try:
            notice = after_sale_notice(result, purchase, change)
        except Exception:  # a notice never fails the change
            logger.exception("no notice for %s of %s", result, purchase.session_id)
            return
        if notice is not None:
            self.send(notice)

    def daily_summary(self, day: date | None = None) -> bool:
        """Mail the summary of `day` (default: yesterday in the store's timezone), once: a
        second run for the same day (EventBridge may deliver a scheduled event twice) sends
        nothing. Whether this call sent it. Nothing without `NOTIFY_EMAIL`.

        Raises:
            Unavailable: the sales could not be read or SES failed; nothing was sent and the
                day is not marked, so Lambda's retry of the event sends it.
        """
        from chalicelib.sale.summary import last_full_day, summary_notice

        if not self._to or self._reports is None:
            return False
        day = day or last_full_day(self._clock(), self._reports.timezone)
        notice = summary_notice(self._reports.sales(DateRange(day, day)))
        if not self._mark_summary(day, sent=True):
            return False
        if not self.send(notice):
            self._mark_summary(day, sent=False)
            raise Unavailable("The daily summary could not be mailed.")
        return True

    def _mark_summary(self, day: date, sent: bool) -> bool:
        """Mark `day`'s summary sent (False if it already was) or, with `sent=False`, unmark
        it after a failed send. Kept a week in the links table (`summary#<day>`, TTL)."""
        if self._summaries_sent is None:
            return True
        item = self._summaries_sent(f"summary#{day.isoformat()}")
        model = self._summaries_sent
        try:
            if not sent:  # an update, not a delete: the function may only update items
                item.update(actions=[model.hits.remove()])
                return True
            item.update(
                actions=[model.hits.add(1), model.purge_at.set(self._clock() + SUMMARY_MARK_KEPT)],
                condition=model.hits.does_not_exist(),
            )
        except PynamoDBException as exc:
            if sent and condition_failed(exc):
                return False
            raise Unavailable("The store could not record the daily summary.") from exc
        return True

    def send(self, notice: Notice) -> bool:
        """Mail `notice` to the seller; whether SES took it (failures are logged, not raised)."""
        if not self._to:
            return False
        try:
            self._mailer.send_notice(self._to, notice.subject, "notice", {"n": notice})
        except Exception as exc:  # SES down or the address refused
            logger.error("seller notice %r not sent: %s", notice.subject, exc)
            return False
        return True


def _money(cents: Any, currency: str) -> str:
    return format_amount(int(cents or 0), currency)


def _order_rows(purchase: Purchase) -> list[tuple[str, str]]:
    return [
        ("Product", purchase.product_name or purchase.product_id),
        ("Buyer", purchase.email or "(no address)"),
        ("Order", purchase.session_id),
    ]


def sale_notice(purchase: Purchase) -> Notice:
    """The notice of a paid purchase: product, amount (with tax and discount), buyer."""
    c = purchase.currency
    amount = _money(purchase.amount_cents, c)
    rows = [*_order_rows(purchase), ("Paid", amount)]
    if int(purchase.discount_cents or 0):
        rows.append(("Discount", _money(purchase.discount_cents, c)))
    if int(purchase.tax_cents or 0):
        rows.append(("Tax", _money(purchase.tax_cents, c)))
    return Notice(
        subject=f"New sale: {purchase.product_name} ({amount})",
        heading="New sale",
        rows=rows,
    )


def after_sale_notice(result: str, purchase: Purchase, change: Any) -> Notice | None:
    """The notice of a change after the sale, by the change's `result`; None for changes the
    seller made or that move no money or hold (a refund reported again by id, a resend)."""
    c = purchase.currency
    name = purchase.product_name or purchase.product_id
    if result in ("refunded", "refund_taken_back") and change.refunded_delta:
        delta = int(change.refunded_delta)
        total = change.purchase.get("refunded_cents", purchase.refunded_cents)
        rows = [
            *_order_rows(purchase),
            ("Refunded now" if delta > 0 else "Taken back", _money(abs(delta), c)),
            ("Refunded in all", f"{_money(total, c)} of {_money(purchase.amount_cents, c)}"),
        ]
        if delta > 0:
            return Notice(f"Refund: {name} ({_money(delta, c)})", "Refund", rows)
        note = "A refund failed or was canceled: its amount counts as sold again."
        return Notice(f"Refund taken back: {name}", "Refund taken back", rows, note=note)
    if result == "on_hold" or result in CLOSED_RANK:
        dispute = _changed_dispute(purchase, change)
        if dispute is None:
            return None
        rows = [*_order_rows(purchase), ("Disputed", _money(recorded(purchase, dispute[0]), c))]
        if dispute[1]:
            rows.append(("Reason", dispute[1]))
        if result == "on_hold":
            note = "Downloads are on hold while it is open. Respond in Stripe's dashboard."
            return Notice(f"Dispute opened: {name}", "Dispute opened", rows, note=note)
        label = result.replace("_", " ")
        return Notice(
            f"Dispute closed ({label}): {name}",
            f"Dispute closed: {label}",
            rows,
            note=CLOSED_NOTES.get(result, ""),
        )
    if result == "fraud_warning":
        warnings = change.purchase.get("fraud_warnings") or []
        if not warnings:
            return None
        warning = warnings[-1]
        rows = [
            *_order_rows(purchase),
            ("Paid", _money(purchase.amount_cents, c)),
            ("Fraud type", warning.fraud_type or "not given"),
            ("Actionable", "yes" if warning.actionable else "no"),
        ]
        note = (
            "Stripe's Radar reports this charge as likely fraudulent: refunding it avoids a "
            "dispute and its fee (with REFUND_ON_FRAUD_WARNING=true the store refunds an "
            "actionable one itself)."
        )
        return Notice(f"Early fraud warning: {name}", "Early fraud warning", rows, note=note)
    return None


def _changed_dispute(purchase: Purchase, change: Any) -> tuple[int, str] | None:
    """(amount, reason) of the dispute whose status this change set."""
    before = {d.dispute_id: d.status for d in purchase.disputes or []}
    for d in change.purchase.get("disputes") or []:
        if before.get(d.dispute_id) != d.status:
            return int(d.amount_cents or 0), d.reason or ""
    return None
