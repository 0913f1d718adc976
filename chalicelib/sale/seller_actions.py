"""The seller's actions on a purchase from the admin desk: resend, reset, revoke and refund.

Resend, reset and revoke change purchase and link through `PurchaseChanges` (revoke adds the
seller's revoke to the purchase's causes, `sale.standing`); refund only asks Stripe, and the
link dies when Stripe's `charge.refunded` arrives (`sale.after_sale`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import Conflict, NotFound, ReceiptNotSent, Unavailable
from chalicelib.platform.tables import DownloadLink, Purchase
from chalicelib.sale.changes import Change, PurchaseChanges, restated
from chalicelib.sale.license_keys import shown_key
from chalicelib.sale.links import LinkPolicy
from chalicelib.sale.purchases import Purchases
from chalicelib.sale.receipts import Mailer, receipt_for

if TYPE_CHECKING:
    from chalicelib.payments.checkout import Checkout

TERMINAL_LINK_STATES = ("refunded", "revoked")


class SellerActions:
    """The seller's resend / reset / revoke / refund of a purchase."""

    def __init__(
        self,
        *,
        purchases: Purchases,
        links: LinkPolicy,
        mailer: Mailer,
        changes: PurchaseChanges,
        clock: Callable[[], datetime],
    ) -> None:
        self._purchases = purchases
        self._links = links
        self._mailer = mailer
        self._changes = changes
        self._clock = clock

    def revoke(self, session_id: str) -> Purchase:
        """Turn the purchase's link off for good."""

        def decide(p: Purchase) -> Change | None:
            _require_link(p)
            return restated(p, lambda s: s.with_revoke(), self._clock())

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
            license_key=shown_key(self._links.key, purchase),
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


def _require_link(purchase: Purchase) -> None:
    if purchase.status != "paid" or not purchase.token_hash:
        raise Conflict("This purchase has not been paid, so it has no download link.")
