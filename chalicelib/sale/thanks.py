"""The thank-you page Stripe sends a buyer back to: the purchase, fulfilled if the webhook has
not done it yet, and its link while it is fresh.

Random ids cost no Stripe call worth having (issue 15): a malformed id is refused before any;
an id Stripe did not know as this store's is remembered (`UnknownSessions`) for a while; and a
client may make only so many lookups that find nothing (the limiter's `thanks_unknown`)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.errors import NotFound, PaymentProviderError, ReceiptNotSent, ReceiptPending
from chalicelib.payments.checkout import Checkout
from chalicelib.payments.events import CheckoutFacts
from chalicelib.platform.limits import RateLimiter
from chalicelib.platform.tables import Purchase, UnknownSession
from chalicelib.sale.fulfilment import Fulfilment
from chalicelib.sale.license_keys import shown_key
from chalicelib.sale.links import LinkPolicy
from chalicelib.sale.purchases import PAID_STATUSES

logger = logging.getLogger("bull")

LINK_WINDOW = timedelta(hours=1)
# Stripe's Checkout Session ids: `cs_test_...` / `cs_live_...`, letters, digits and `_`.
SESSION_ID = re.compile(r"cs_[A-Za-z0-9_]{1,252}")
UNKNOWN_KEPT = timedelta(minutes=10)
UNKNOWN_IN_CONTAINER = 4096
NOT_FOUND = "We could not find that checkout."


class UnknownSessions:
    """Session ids Stripe did not know as this store's, remembered for `kept` in this
    container (a bounded LRU) and in DynamoDB (`unknown#<SHA-256 of the id>`, with its TTL) so
    other containers skip Stripe too. DynamoDB failing only costs a Stripe call."""

    def __init__(
        self,
        model: type[UnknownSession],
        clock: Callable[[], datetime],
        kept: timedelta = UNKNOWN_KEPT,
        size: int = UNKNOWN_IN_CONTAINER,
    ) -> None:
        self._model = model
        self._clock = clock
        self._kept = kept
        self._size = size
        self._recent: OrderedDict[str, datetime] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, session_id: str) -> bool:
        now = self._clock()
        with self._lock:
            until = self._recent.get(session_id)
            if until is not None and until > now:
                self._recent.move_to_end(session_id)
                return True
        try:
            item = self._model.get(self._key(session_id))
        except DoesNotExist:
            return False
        except PynamoDBException as exc:
            logger.info("unknown sessions not read: %s", exc)
            return False
        if item.purge_at is None or item.purge_at <= now:  # TTL deletes lazily
            return False
        self._keep(session_id, item.purge_at)
        return True

    def remember(self, session_id: str) -> None:
        """Remember `session_id` as unknown (a failed write only logs)."""
        until = self._clock() + self._kept
        self._keep(session_id, until)
        try:
            self._model(self._key(session_id), purge_at=until).save()
        except PynamoDBException as exc:
            logger.info("unknown session not recorded: %s", exc)

    def _keep(self, session_id: str, until: datetime) -> None:
        with self._lock:
            self._recent[session_id] = until
            self._recent.move_to_end(session_id)
            while len(self._recent) > self._size:
                self._recent.popitem(last=False)

    @staticmethod
    def _key(session_id: str) -> str:
        return "unknown#" + hashlib.sha256(session_id.encode()).hexdigest()


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
        unknown: UnknownSessions,
        limiter: RateLimiter,
    ) -> None:
        self._unknown = unknown
        self._limiter = limiter
        self._checkout = checkout
        self._fulfilment = fulfilment
        self._page_links = page_links
        self._clock = clock
        self._store_id = store_id

    def page(self, session_id: str, client: str = "") -> ThanksPage:
        """The page for a Checkout Session, asked by `client` (its source IP).

        Raises:
            NotFound: not a session id, or not one of this store's sessions.
            RateLimited: the client's lookups that found nothing used up their window.
            PaymentProviderError: Stripe could not be reached.
            Unavailable: the store could not record or read the purchase.
        """
        if not SESSION_ID.fullmatch(session_id):
            raise NotFound(NOT_FOUND)
        purchase = self._recorded_paid(session_id)
        # Usually the webhook came first and mailed the receipt: then the page needs no Stripe
        # call and no transaction that could only be cancelled.
        if purchase is None or not (purchase.receipt_sent_at or purchase.receipt_error):
            # If only the receipt is held up, the purchase is recorded: show the link;
            # Stripe's webhook retries own the email.
            with contextlib.suppress(ReceiptNotSent, ReceiptPending):
                if purchase is not None:
                    self._fulfilment.ensure_receipt(session_id)
                else:
                    facts = self._facts(session_id, client)
                    if facts.payment_status not in PAID_STATUSES:
                        return ThanksPage(paid=False, email=facts.email)
                    self._fulfilment.fulfil(facts)
            purchase = self._fulfilment.purchase(session_id)
        link = self._link(purchase)
        key = shown_key(self._page_links.key, purchase) if link else None
        return ThanksPage(
            paid=True, email=purchase.email, purchase=purchase, link=link, license_key=key
        )

    def _recorded_paid(self, session_id: str) -> Purchase | None:
        """The purchase, if it is already recorded as paid (the webhook or an earlier visit
        fulfilled it): then the page needs nothing from Stripe."""
        try:
            purchase = self._fulfilment.purchase(session_id)
        except NotFound:
            return None
        return purchase if purchase.status == "paid" else None

    def _facts(self, session_id: str, client: str) -> CheckoutFacts:
        """The session's facts from Stripe: one lookup, counted against the client's budget
        of lookups that find nothing and given back when it finds this store's session."""
        if not SESSION_ID.fullmatch(session_id) or session_id in self._unknown:
            raise NotFound(NOT_FOUND)
        taken = self._limiter.take("thanks_unknown", client)
        try:
            session = self._checkout.retrieve_session(session_id)
        except NotFound:
            self._unknown.remember(session_id)
            raise
        except PaymentProviderError:
            self._limiter.give_back(taken)  # Stripe's failure, not the client's
            raise
        facts = CheckoutFacts.from_session(session, sold_at=self._clock(), store_id=self._store_id)
        if facts is None:
            self._unknown.remember(session_id)
            raise NotFound(NOT_FOUND)
        self._limiter.give_back(taken)
        return facts

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
