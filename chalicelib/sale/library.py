"""The buyer's library: a buyer who lost the receipt asks by e-mail address and gets a sign-in
link for an hour that lists every paid purchase with its current download link.

No enumeration: asking answers the same whether or not the address bought anything; only an
address that did gets a mail. Every well-formed ask counts against its client (its source IP,
keyed with the store's secret) and its address before the purchases are looked up, so a known
and an unknown address cost the same writes, and a failure after the look-up is answered like
any other ask. Nor does the time tell: an ask takes at least `ANSWER_FLOOR` seconds, which
covers the mail a known address gets (SES answers in tens of milliseconds). The counts are
kept in DynamoDB (`MailAllowance`) so the limits hold across Lambda containers. Addresses are
matched trimmed and in lower case, as purchases record them.

A library token is 192 random bits, URL-safe; only its SHA-256 is stored (`LibraryToken`).
Opening the library consumes nothing; the download links it shows are each purchase's current
one, recomputed by `LinkPolicy` from the session id and link version, never stored raw.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.errors import LinkGone, NotFound, StoreError, Unavailable
from chalicelib.platform.tables import LibraryToken, MailAllowance, Purchase
from chalicelib.sale.allowances import Allowances
from chalicelib.sale.license_keys import shown_key
from chalicelib.sale.links import LinkPolicy, Links, LinkView
from chalicelib.sale.purchases import PAID_STATUSES, Purchases, buyer_address
from chalicelib.sale.receipts import LibraryMail, Mailer

logger = logging.getLogger("bull")

TOKEN_BYTES = 24  # 192 bits: 32 URL-safe characters, unlike a download token's 43
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")
KEY_PREFIX = "library#"
TOKEN_LIFETIME = timedelta(hours=1)
# An expired token still answers 410 (not 404) this long, then DynamoDB's TTL removes it.
TOKEN_KEPT = timedelta(days=7)
WINDOW = timedelta(hours=1)
MAILS_PER_ADDRESS = 3
ASKS_PER_CLIENT = 10
ANSWER_FLOOR = 0.2  # seconds every ask takes at least, mail or no mail
STATE_LABELS = {
    "active": "Ready to download",
    "used_up": "All downloads used",
    "expired": "Link expired",
    "refunded": "Refunded",
    "revoked": "Turned off by the seller",
    "on_hold": "Under review",
    "unavailable": "Link unavailable",
}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def token_key(token: str) -> str:
    """The links-table key of a library token: its SHA-256, prefixed."""
    return KEY_PREFIX + _digest(token)


@dataclass(frozen=True)
class ShelfItem:
    """One paid purchase as the library shows it."""

    session_id: str
    product_name: str
    bought_on: str  # YYYY-MM-DD, the sale's day in the store timezone
    state: str
    state_label: str
    link: str
    license_key: str | None = None
    downloads_left: int = 0
    link_expires_on: str = ""  # YYYY-MM-DD (UTC); empty when the link is gone

    @property
    def downloadable(self) -> bool:
        return self.state == "active"


@dataclass(frozen=True)
class Shelf:
    email: str
    items: list[ShelfItem]
    expires_at: datetime


class Library:
    """Asks for a sign-in link, and opens the library with one."""

    def __init__(
        self,
        *,
        purchases: Purchases,
        links: Links,
        mail_links: LinkPolicy,
        page_links: LinkPolicy,
        mailer: Mailer,
        tokens: type[LibraryToken],
        allowances: type[MailAllowance],
        client_key: Callable[[str], str],
        clock: Callable[[], datetime],
        pause: Callable[[float], None],
        timer: Callable[[], float] = time.monotonic,
        mails_per_address: int = MAILS_PER_ADDRESS,
        asks_per_client: int = ASKS_PER_CLIENT,
    ) -> None:
        self._pause = pause
        self._timer = timer
        self._purchases = purchases
        self._links = links
        self._client_key = client_key
        self._mail_base = mail_links.base_url
        self._page_links = page_links
        self._mailer = mailer
        self._tokens = tokens
        self._allowances = Allowances(allowances, clock, WINDOW)
        self._clock = clock
        self._mails_per_address = mails_per_address
        self._asks_per_client = asks_per_client

    def ask(self, email: str, client: str) -> bool:
        """Mail `email` a sign-in link if it bought anything and neither the address nor the
        client (`client`: its source IP) is over its hourly limit, taking at least
        `ANSWER_FLOOR` seconds either way. Whether a mail went out, for the log and tests;
        callers answer the same either way.

        Raises:
            Unavailable: DynamoDB failed before the purchases were looked up (the same for
                every address).
        """
        started = self._timer()
        try:
            return self._ask(email, client)
        finally:
            self._pause(max(0.0, ANSWER_FLOOR - (self._timer() - started)))

    def _ask(self, email: str, client: str) -> bool:
        address = buyer_address(email)
        if not self._allowances.take("client", self._client_key(client), self._asks_per_client):
            return False
        if not self._allowances.take("address", address, self._mails_per_address):
            return False
        paid = self._paid(address)
        if not paid:
            return False
        try:
            if buyer_address(self._purchases.get(paid[0].session_id).email) != address:
                return False  # the index lagged behind an erase: the address is gone
            return self._mail_sign_in(address)
        except StoreError as exc:
            # Answered like any other ask (no enumeration); the buyer may ask again.
            logger.warning("library mail not sent: %s (%s)", exc.message, exc.__cause__)
            return False

    def _mail_sign_in(self, address: str) -> bool:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        expires = now + TOKEN_LIFETIME
        item = self._tokens(
            token_key(token),
            email=address,
            expires_at=int(expires.timestamp()),
            created_at=now,
            purge_at=expires + TOKEN_KEPT,
        )
        try:
            item.save()
        except PynamoDBException as exc:
            raise Unavailable("The store could not make the sign-in link. Try again.") from exc
        link = f"{self._mail_base}/library/{token}"
        self._mailer.send_library(LibraryMail(to=address, link=link, expires_at=expires))
        return True

    def open(self, token: str) -> Shelf:
        """The buyer's paid purchases with their current links. Consumes nothing.

        Raises:
            NotFound: unknown or malformed token.
            LinkGone: the token expired (`expired`).
            Unavailable: DynamoDB failed.
        """
        if not TOKEN_PATTERN.match(token or ""):
            raise NotFound("No such sign-in link.")
        try:
            item = self._tokens.get(token_key(token), consistent_read=True)
        except DoesNotExist:
            raise NotFound("No such sign-in link.") from None
        except PynamoDBException as exc:
            raise Unavailable("The store could not read this link. Try again.") from exc
        expires = datetime.fromtimestamp(int(item.expires_at), UTC)
        if expires <= self._clock():
            raise LinkGone(
                "expired", "This sign-in link has expired: links to your library last an hour."
            )
        paid = [p for p in self._paid(buyer_address(item.email)) if p.link_version]
        views = self._links.views(p.token_hash for p in paid if p.token_hash)
        now = self._clock().timestamp()
        items = [self._item(p, views.get(p.token_hash or ""), now) for p in paid]
        return Shelf(email=item.email, items=items, expires_at=expires)

    def _paid(self, address: str) -> list[Purchase]:
        """The address's paid purchases, newest first."""
        return [p for p in self._purchases.by_buyer(address) if p.status in PAID_STATUSES]

    def _item(self, purchase: Purchase, link: LinkView | None, now: float) -> ShelfItem:
        """The purchase as shown: its state is its link's (used up and expired included),
        with a dispute's hold over it."""
        if purchase.dispute_status == "open":
            state = "on_hold"
        elif link is not None:
            state = link.gone_reason(now) or "active"
        elif purchase.link_state in (None, "active"):
            state = "unavailable"  # never written, or lost: nothing to download from
        else:
            state = purchase.link_state
        active = link is not None and state == "active"
        return ShelfItem(
            session_id=purchase.session_id,
            product_name=purchase.product_name,
            bought_on=purchase.sale_day or purchase.created_at.date().isoformat(),
            state=state,
            state_label=STATE_LABELS.get(state, state.replace("_", " ")),
            link=self._page_links.url(purchase.session_id, int(purchase.link_version)),
            license_key=shown_key(self._page_links.key, purchase),
            downloads_left=link.downloads_left if link and active else 0,
            link_expires_on=link.expires_at.date().isoformat() if link and active else "",
        )
