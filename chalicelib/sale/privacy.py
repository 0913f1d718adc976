"""Privacy requests: everything the store holds about one buyer's address (`export`), and
erasing the address and the traces of the buyer's devices while keeping the seller's books
(`erase`).

Matching ignores case and surrounding spaces (`purchases.buyer_address`): purchases record an
address in lower case, but one recorded before they did may be in any case, which the email
index cannot match, so purchases are found by reading the purchases table through; their
download links (current and replaced ones) by the purchases' session ids, and the library's
sign-in tokens by their address, reading the links table through. A privacy request
is rare and run by the operator, so reading the tables once is its cost.

Erase keeps the amounts, currency, dates, product, status, refunds, disputes and fraud warnings
of each purchase, the number and times of downloads, and the sales figures (the `sales` table is
never touched, so reports do not change). It removes the address from purchases, the IP hash
and user agent from every download logged, the instance names of license activations, the
library's sign-in tokens and the address's mail allowance. It scrubs the links and licenses
before the purchases lose their address, so a run that fails midway is finished by running it
again: what is left is still found by the address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.errors import Unavailable
from chalicelib.platform.tables import (
    DownloadLink,
    LibraryToken,
    License,
    MailAllowance,
    Purchase,
)
from chalicelib.sale.library import KEY_PREFIX as LIBRARY_PREFIX
from chalicelib.sale.license_keys import KEY_PREFIX as LICENSE_PREFIX
from chalicelib.sale.privacy_scrub import scrub_license, scrub_link
from chalicelib.sale.privacy_view import epoch_iso, purchase_data
from chalicelib.sale.purchases import buyer_address

ALLOWANCE_KEY = "allowance#address#{digest}"  # as `library.Allowances` keys an address
SCRUB_ATTEMPTS = 4


def allowance_key(email: str) -> str:
    """The links-table key of the address's library mail allowance."""
    return ALLOWANCE_KEY.format(digest=hashlib.sha256(buyer_address(email).encode()).hexdigest())


@dataclass
class Erased:
    """What an erase removed (zero everywhere: nothing was left to remove)."""

    email: str
    purchases: int = 0  # purchases that no longer carry the address
    links: int = 0  # download links whose log lost IP hashes and user agents
    downloads: int = 0  # download log entries scrubbed
    sign_in_links: int = 0  # library sign-in tokens deleted
    allowances: int = 0  # the address's mail allowance deleted (0 or 1)
    instance_names: int = 0  # license activations whose instance name was blanked
    kept: list[str] = field(default_factory=list)  # order ids kept for the seller's books

    @property
    def found(self) -> bool:
        return bool(self.purchases or self.links or self.sign_in_links or self.allowances)

    def as_dict(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "found": self.found,
            "purchases": self.purchases,
            "links": self.links,
            "downloads": self.downloads,
            "sign_in_links": self.sign_in_links,
            "allowances": self.allowances,
            "instance_names": self.instance_names,
            "orders_kept": self.kept,
        }


class Privacy:
    """Answers a buyer's request to see, or to erase, what the store holds about them."""

    def __init__(
        self,
        *,
        purchases: type[Purchase],
        links: type[DownloadLink],
        tokens: type[LibraryToken],
        allowances: type[MailAllowance],
        licenses: type[License],
        clock: Callable[[], datetime],
    ) -> None:
        self._purchases = purchases
        self._links = links
        self._tokens = tokens
        self._allowances = allowances
        self._licenses = licenses
        self._clock = clock

    # -- export ---------------------------------------------------------------------------

    def export(self, email: str) -> dict[str, Any]:
        """Everything the store holds about the address, as JSON-ready data: purchases with
        their links and download logs and license activations (never a key: only its hash is
        stored), live sign-in links (count and expiry only; only their
        hashes are stored) and the library mail allowance. `found` is False when the store
        holds nothing about it.

        Raises:
            Unavailable: DynamoDB failed.
        """
        now = self._clock()
        purchases = self._find_purchases(email)
        links = self._find_links({p.session_id for p in purchases})
        licenses = self._find_licenses(purchases)
        tokens = self._find_tokens(email)
        live = sorted(int(t.expires_at) for t in tokens if int(t.expires_at) > now.timestamp())
        allowance = self._allowance(email)
        uses = [int(u) for u in (allowance.uses or ())] if allowance else []
        return {
            "email": buyer_address(email),
            "exported_at": now.isoformat(),
            "found": bool(purchases or tokens or uses),
            "purchases": [
                purchase_data(p, links.get(p.session_id, []), licenses.get(p.session_id))
                for p in purchases
            ],
            "library_sign_in_links": {
                "live": len(live),
                "expire_at": [epoch_iso(t) for t in live],
            },
            "library_mails": {"sent_at": [epoch_iso(u) for u in sorted(uses)]},
        }

    # -- erase ----------------------------------------------------------------------------

    def erase(self, email: str) -> Erased:
        """Remove the address and the buyer's device traces, keeping the seller's books.
        Running it again (after a failure midway, or not) finishes what is left and changes
        nothing else; `Erased.found` is False when nothing was left.

        Raises:
            Unavailable: DynamoDB failed (run it again).
        """
        done = Erased(email=buyer_address(email))
        self._forget_asks(email, done)
        purchases = self._find_purchases(email)
        sessions = {p.session_id for p in purchases}
        self._scrub_links(sessions, done)
        for item in self._find_licenses(purchases).values():
            done.instance_names += scrub_license(self._licenses, item)
        for purchase in purchases:
            # `updated_at` changes too: a resend that read the purchase before is refused on
            # its retry (no address), so no new link copies a log this run has not scrubbed...
            self._write(
                lambda p=purchase: p.update(
                    actions=[Purchase.email.remove(), Purchase.updated_at.set(self._clock())],
                    condition=Purchase.session_id.exists(),
                ),
                "remove the address from a purchase",
            )
        # ...and one that committed since the links were read is scrubbed now, as is a sign-in
        # link the library mailed meanwhile (it found the purchases before they lost the address).
        self._scrub_links(sessions, done)
        self._forget_asks(email, done)
        done.purchases = len(purchases)
        done.kept = sorted(sessions)
        return done

    def _forget_asks(self, email: str, done: Erased) -> None:
        """Delete the library's sign-in links for the address and its mail allowance."""
        tokens = self._find_tokens(email)
        for token in tokens:
            self._write(token.delete, "delete a sign-in link")
        done.sign_in_links += len(tokens)
        allowance = self._allowance(email)
        if allowance is not None:
            self._write(allowance.delete, "delete the mail allowance")
            done.allowances = 1

    def _scrub_links(self, sessions: set[str], done: Erased) -> None:
        for links in self._find_links(sessions).values():
            for link in links:
                scrubbed = scrub_link(self._links, link)
                if scrubbed:
                    done.links += 1
                    done.downloads += scrubbed

    # -- finding what the store holds -------------------------------------------------------

    def _find_purchases(self, email: str) -> list[Purchase]:
        wanted = buyer_address(email)
        if not wanted:
            return []
        try:
            found = [
                p
                for p in self._purchases.scan(self._purchases.email.exists())
                if buyer_address(p.email) == wanted
            ]
        except PynamoDBException as exc:
            raise Unavailable("The store could not read purchases.") from exc
        return sorted(found, key=lambda p: p.created_at)

    def _find_links(self, sessions: set[str]) -> dict[str, list[DownloadLink]]:
        """The links of the sessions (current and replaced), oldest first, by session id."""
        if not sessions:
            return {}
        found: dict[str, list[DownloadLink]] = {}
        try:
            for link in self._links.scan(self._links.session_id.exists()):
                # Only download links: other items of the table have prefixed keys.
                if link.session_id in sessions and "#" not in link.token_hash:
                    found.setdefault(link.session_id, []).append(link)
        except PynamoDBException as exc:
            raise Unavailable("The store could not read download links.") from exc
        for links in found.values():
            links.sort(key=lambda link: link.created_at)
        return found

    def _find_licenses(self, purchases: list[Purchase]) -> dict[str, License]:
        """The license items of the purchases that have one, by session id."""
        found = {}
        for p in purchases:
            if not p.license_hash:
                continue
            try:
                found[p.session_id] = self._licenses.get(
                    LICENSE_PREFIX + p.license_hash, consistent_read=True
                )
            except DoesNotExist:
                continue
            except PynamoDBException as exc:
                raise Unavailable("The store could not read a license.") from exc
        return found

    def _find_tokens(self, email: str) -> list[LibraryToken]:
        wanted = buyer_address(email)
        if not wanted:
            return []
        model = self._tokens
        try:
            scan = model.scan(model.token_hash.startswith(LIBRARY_PREFIX) & model.email.exists())
            return [t for t in scan if buyer_address(t.email) == wanted]
        except PynamoDBException as exc:
            raise Unavailable("The store could not read sign-in links.") from exc

    def _allowance(self, email: str) -> MailAllowance | None:
        if not buyer_address(email):
            return None
        try:
            return self._allowances.get(allowance_key(email), consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise Unavailable("The store could not read the mail allowance.") from exc

    @staticmethod
    def _write(call: Callable[[], Any], what: str) -> None:
        try:
            call()
        except PynamoDBException as exc:
            raise Unavailable(f"The store could not {what}; run the erase again.") from exc
