"""After the sale: refunds and disputes from Stripe, and the seller's actions on a purchase.

Every change goes through `_change()`: read the purchase, decide the new state from it, and
write purchase, link and (for refunds) the day's rollup in one transaction conditioned on the
purchase being unchanged since the read. Deliveries that change nothing are no-ops, so
duplicates and out-of-order events never apply twice; a concurrent change makes the write
retry on fresh state.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import Conflict, NotFound, ReceiptNotSent, Unavailable
from chalicelib.payments.events import is_ours
from chalicelib.platform.tables import DownloadLink, Purchase
from chalicelib.platform.transactions import Transactions
from chalicelib.sale.changes import Change, PurchaseChanges
from chalicelib.sale.links import LinkPolicy
from chalicelib.sale.outcome import Outcome
from chalicelib.sale.purchases import Purchases
from chalicelib.sale.receipts import Mailer, receipt_for

if TYPE_CHECKING:
    from chalicelib.payments.checkout import Checkout

logger = logging.getLogger(__name__)

TERMINAL_LINK_STATES = ("refunded", "revoked")
DISPUTE_GRACE = timedelta(hours=1)


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class AfterSale:
    """Refunds, disputes, and the seller's resend / reset / revoke."""

    def __init__(
        self,
        *,
        purchases: Purchases,
        links: LinkPolicy,
        mailer: Mailer,
        transactions: Transactions,
        timezone: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        store_id: str | None = None,
    ) -> None:
        self._purchases = purchases
        self._links = links
        self._mailer = mailer
        self._clock = clock
        self._store_id = store_id
        self._changes = PurchaseChanges(
            purchases=purchases,
            links=links,
            transactions=transactions,
            timezone=timezone,
            clock=clock,
        )

    # -- Stripe events ------------------------------------------------------------------

    def charge_refunded(self, charge: dict[str, Any], at: datetime) -> Outcome:
        """Record the charge's cumulative `amount_refunded`; a full refund kills the link."""
        refunded = _as_int(charge.get("amount_refunded"))
        purchase = self._purchases.by_payment(charge.get("payment_intent"))
        ours = is_ours(charge.get("metadata"), self._store_id)
        if purchase is None and ours and refunded is not None:
            # Stripe copies the PaymentIntent's metadata (set at checkout) onto the charge: this
            # refund is ours but its checkout event has not arrived yet. A 409 makes Stripe
            # deliver it again later, after the purchase exists.
            raise Conflict("The purchase is not recorded yet; retry later.", code="not_yet")
        if purchase is None or refunded is None:
            return Outcome("ignored", detail="not a charge of this store")

        def decide(p: Purchase) -> Change | None:
            _require_settled(p)
            already = int(p.refunded_cents or 0)
            if refunded <= already or p.status != "paid":
                return None
            change = Change(
                purchase={"refunded_cents": refunded}, refunded_delta=refunded - already
            )
            if charge.get("refunded") is True or refunded >= int(p.amount_cents):
                change.link_state = "refunded"
            return change

        return self._changes.apply(purchase.session_id, decide, at, "refunded")

    def dispute_created(self, dispute: dict[str, Any], at: datetime) -> Outcome:
        """A dispute opened: downloads pause until it closes (unless it closed already)."""
        purchase = self._dispute_purchase(dispute, at)
        if purchase is None:
            return Outcome("ignored", detail="not a charge of this store")

        def decide(p: Purchase) -> Change | None:
            _require_settled(p)
            if p.dispute_status is not None:
                return None
            state = "on_hold" if p.link_state == "active" else None
            return Change(
                purchase={"dispute_status": "open", "dispute_id": dispute.get("id")},
                link_state=state,
            )

        return self._changes.apply(purchase.session_id, decide, at, "on_hold")

    def dispute_closed(self, dispute: dict[str, Any], at: datetime) -> Outcome:
        """A dispute closed: `won` restores the link, `lost` revokes it."""
        status = dispute.get("status")
        if status not in ("won", "lost", "warning_closed"):
            return Outcome("ignored", detail="not a closed dispute")
        purchase = self._dispute_purchase(dispute, at)
        if purchase is None:
            return Outcome("ignored", detail="not a closed dispute of this store")
        won = status != "lost"

        def decide(p: Purchase) -> Change | None:
            _require_settled(p)
            if p.dispute_status in ("won", "lost"):
                return None
            change = Change(
                purchase={
                    "dispute_status": "won" if won else "lost",
                    "dispute_id": dispute.get("id"),
                }
            )
            if won and p.link_state == "on_hold":
                change.link_state = "active"
            elif not won and p.link_state not in TERMINAL_LINK_STATES:
                change.link_state = "revoked"
            return change

        return self._changes.apply(purchase.session_id, decide, at, status)

    # -- the seller's actions -------------------------------------------------------------

    def revoke(self, session_id: str) -> Purchase:
        """Turn the purchase's link off for good."""

        def decide(p: Purchase) -> Change | None:
            _require_link(p)
            return None if p.link_state == "revoked" else Change(link_state="revoked")

        self._changes.apply(session_id, decide, self._clock(), "revoked")
        return self.get(session_id)

    def reset(self, session_id: str) -> Purchase:
        """Give the link its default downloads and expiry again."""

        def decide(p: Purchase) -> Change:
            _require_link(p)
            return Change(link_reset=True)

        self._changes.apply(session_id, decide, self._clock(), "reset")
        return self.get(session_id)

    def resend(self, session_id: str) -> Purchase:
        """Mail a new link; the old one stops working at once.

        Raises:
            Conflict: the purchase has no email, or its link is refunded or revoked.
        """

        def decide(p: Purchase) -> Change:
            _require_link(p)
            if not p.email:
                raise Conflict("This purchase has no email address to send to.")
            if p.link_state in TERMINAL_LINK_STATES:
                raise Conflict(f"This purchase's link is {p.link_state}; it cannot be resent.")
            return Change(new_link_version=int(p.link_version) + 1)

        self._changes.apply(session_id, decide, self._clock(), "resent")
        purchase = self.get(session_id)
        try:
            link = DownloadLink.get(purchase.token_hash, consistent_read=True)
        except PynamoDBException as exc:
            raise Unavailable("The new link is made but could not be read; resend again.") from exc
        receipt = receipt_for(
            purchase,
            self._links.url(purchase.session_id, int(purchase.link_version)),
            downloads=int(link.downloads_left),
            expires_at=datetime.fromtimestamp(int(link.expires_at), UTC),
        )
        try:
            self._mailer.send_receipt(receipt)
        except ReceiptNotSent as exc:
            message = "The new link is made, but the email could not be sent; resend again."
            raise ReceiptNotSent(message) from exc
        with contextlib.suppress(PynamoDBException):  # only a note for the seller
            purchase.update(
                actions=[
                    Purchase.receipt_sent_at.set(self._clock()),
                    Purchase.receipt_error.remove(),
                ]
            )
        return purchase

    def act(self, action: str, session_id: str, checkout: Checkout) -> Purchase:
        """The seller's `action` on a purchase: `resend`, `reset`, `revoke` or `refund`.

        Raises:
            NotFound: no such action or purchase.
            Conflict: the purchase cannot take the action (unpaid, no email, refunded).
            PaymentProviderError: Stripe refused the refund or could not be reached.
        """
        actions: dict[str, Callable[[str], Purchase]] = {
            "resend": self.resend,
            "reset": self.reset,
            "revoke": self.revoke,
            "refund": lambda sid: self.request_refund(sid, checkout),
        }
        if action not in actions:
            raise NotFound("No such action.")
        return actions[action](session_id)

    def request_refund(self, session_id: str, checkout: Checkout) -> Purchase:
        """Ask Stripe to refund a paid purchase in full. Nothing changes here yet: the link
        dies when Stripe's `charge.refunded` arrives, like a refund made in Stripe's dashboard.

        Raises:
            NotFound: no such purchase.
            Conflict: not paid, or already refunded in full.
            PaymentProviderError: Stripe refused or could not be reached.
        """
        purchase = self.get(session_id)
        if purchase.status != "paid" or not purchase.payment_intent:
            raise Conflict("Only a paid purchase can be refunded.", code="not_refundable")
        if int(purchase.refunded_cents or 0) >= int(purchase.amount_cents or 0) > 0:
            raise Conflict("This payment is already refunded.", code="already_refunded")
        checkout.refund(purchase.payment_intent)
        return self.get(session_id)

    def get(self, session_id: str) -> Purchase:
        """The purchase (consistent read). Raises NotFound or Unavailable."""
        return self._purchases.get(session_id)

    # -- the mechanism --------------------------------------------------------------------

    def _dispute_purchase(self, dispute: dict[str, Any], at: datetime) -> Purchase | None:
        """The disputed purchase. A dispute names no product, so one whose payment is unknown
        may be ours with its checkout event still on the way: answer 409 so Stripe redelivers
        it, but only for `DISPUTE_GRACE` after the event (a shared Stripe account's other
        stores' disputes are then ignored instead of retried for days)."""
        intent = dispute.get("payment_intent")
        purchase = self._purchases.by_payment(intent)
        recent = self._clock() - at < DISPUTE_GRACE
        if purchase is None and recent and isinstance(intent, str) and intent.startswith("pi_"):
            raise Conflict("The purchase is not recorded yet; retry later.", code="not_yet")
        return purchase


def _require_settled(purchase: Purchase) -> None:
    """A refund or dispute can only follow a payment: while ours is still pending, its
    success event is on the way, so ask Stripe to redeliver this one later (409)."""
    if purchase.status == "pending":
        raise Conflict("The payment is not recorded as settled yet; retry later.", code="not_yet")


def _require_link(purchase: Purchase) -> None:
    if purchase.status != "paid" or not purchase.token_hash:
        raise Conflict("This purchase has not been paid, so it has no download link.")
