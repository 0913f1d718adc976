"""The purchases table, read in one place: by Checkout Session, by payment, by buyer, by month."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.errors import NotFound, Unavailable
from chalicelib.platform.tables import Purchase, month_partition

PAID_STATUSES = ("paid", "no_payment_required")


def buyer_address(email: str | None) -> str:
    """A buyer's address as purchases record it and every look-up matches it: trimmed, in
    lower case ("" for none), so `Buyer@Example.com` and `buyer@example.com` are one buyer."""
    return (email or "").strip().lower()


class Purchases:
    """Reads purchases; every read the store makes of the table goes through here."""

    def __init__(self, model: type[Purchase] = Purchase) -> None:
        self.model = model

    def get(self, session_id: str) -> Purchase:
        """The purchase of a Checkout Session, read strongly consistent.

        Raises:
            NotFound: no purchase for this session.
            Unavailable: DynamoDB failed.
        """
        try:
            return self.model.get(session_id, consistent_read=True)
        except DoesNotExist:
            raise NotFound("No such purchase.") from None
        except PynamoDBException as exc:
            raise Unavailable("The store could not read the purchase.") from exc

    def by_payment(self, payment_intent: Any) -> Purchase | None:
        """The purchase a refund or dispute names by its PaymentIntent, if any.

        Raises:
            Unavailable: DynamoDB failed.
        """
        if not isinstance(payment_intent, str) or not payment_intent.startswith("pi_"):
            return None
        try:
            found = list(self.model.payment_intent_index.query(payment_intent, limit=1))
        except PynamoDBException as exc:
            raise Unavailable("The store could not find the purchase.") from exc
        return found[0] if found else None

    def by_buyer(self, email: str, limit: int | None = None) -> list[Purchase]:
        """A buyer's purchases, newest first; all of them unless `limit`. The address matches
        in any case (purchases record it in lower case) and, for purchases recorded before
        they did, as typed. Raises Unavailable."""
        address = buyer_address(email)
        if not address:
            return []
        # Purchases recorded before addresses were lower-cased keep the case Stripe sent.
        forms = {address, (email or "").strip()}
        index = self.model.email_index
        try:
            found = {
                p.session_id: p
                for form in forms
                for p in index.query(form, scan_index_forward=False, limit=limit)
            }
        except PynamoDBException as exc:
            raise Unavailable("The store could not read purchases.") from exc
        newest = sorted(found.values(), key=lambda p: p.created_at, reverse=True)
        return newest[:limit] if limit else newest

    def recent(self, now: datetime, limit: int) -> list[Purchase]:
        """The newest purchases: this month's partition of the recent index, then the months
        before (three at most). Raises Unavailable."""
        found: list[Purchase] = []
        month = now.replace(day=1)
        try:
            for _ in range(3):
                query = self.model.recent_index.query(
                    month_partition(month), scan_index_forward=False, limit=limit - len(found)
                )
                found += list(query)
                if len(found) >= limit:
                    break
                month = (month - timedelta(days=1)).replace(day=1)
        except PynamoDBException as exc:
            raise Unavailable("The store could not read purchases.") from exc
        return found
