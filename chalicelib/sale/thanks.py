"""The thank-you page Stripe sends a buyer back to: the purchase, fulfilled if the webhook has
not done it yet, and its link while it is fresh."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.errors import NotFound, ReceiptNotSent, ReceiptPending
from chalicelib.payments.checkout import Checkout
from chalicelib.payments.events import CheckoutFacts
from chalicelib.platform.tables import Purchase
from chalicelib.sale.fulfilment import Fulfilment
from chalicelib.sale.license_keys import shown_key
from chalicelib.sale.links import LinkPolicy
from chalicelib.sale.purchases import PAID_STATUSES

LINK_WINDOW = timedelta(hours=1)
MAX_SESSION_ID = 255


@dataclass(frozen=True)
class ThanksPage:
    """What the page says: paid (with the purchase and, while fresh, its link) or pending."""

    paid: bool
    email: str | None
    purchase: Purchase | None = None
    link: str | None = None
    license_key: str | None = None  # shown with the link, for a product with license keys


class ThankYou:
    """Reads the Checkout Session from Stripe and runs the webhook's own idempotent fulfilment."""

    def __init__(
        self,
        *,
        checkout: Checkout,
        fulfilment: Fulfilment,
        page_links: LinkPolicy,
        clock: Callable[[], datetime],
        store_id: str,
    ) -> None:
        self._checkout = checkout
        self._fulfilment = fulfilment
        self._page_links = page_links
        self._clock = clock
        self._store_id = store_id

    def page(self, session_id: str) -> ThanksPage:
        """The page for a Checkout Session.

        Raises:
            NotFound: not a session id, or not one of this store's sessions.
            PaymentProviderError: Stripe could not be reached.
            Unavailable: the store could not record or read the purchase.
        """
        if not session_id.startswith("cs_") or len(session_id) > MAX_SESSION_ID:
            raise NotFound("We could not find that checkout.")
        session = self._checkout.retrieve_session(session_id)
        facts = CheckoutFacts.from_session(session, sold_at=self._clock(), store_id=self._store_id)
        if facts is None:
            raise NotFound("We could not find that checkout.")
        if facts.payment_status not in PAID_STATUSES:
            return ThanksPage(paid=False, email=facts.email)
        # If only the receipt is held up, the purchase is recorded: show the link; Stripe's
        # webhook retries own the email.
        with contextlib.suppress(ReceiptNotSent, ReceiptPending):
            self._fulfilment.fulfil(facts)
        purchase = self._fulfilment.purchase(session_id)
        link = self._link(purchase)
        key = shown_key(self._page_links.key, purchase) if link else None
        return ThanksPage(
            paid=True, email=purchase.email, purchase=purchase, link=link, license_key=key
        )

    def _link(self, purchase: Purchase) -> str | None:
        """Only the first link, and only shortly after payment: a thanks URL left in a browser's
        history must not keep handing out the purchase's link, nor the new one a resend made."""
        if purchase.status != "paid" or purchase.link_state != "active":
            return None
        if int(purchase.link_version or 0) != 1 or purchase.paid_at is None:
            return None
        if self._clock() - purchase.paid_at > LINK_WINDOW:
            return None
        return self._page_links.url(purchase.session_id, 1)
