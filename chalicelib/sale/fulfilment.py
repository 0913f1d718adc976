"""Exactly-once fulfilment of a paid Checkout Session.

The mechanism, in two steps:

1. One DynamoDB transaction writes the purchase, its download link (and license key, for a
   product that hands them out) and the day's sales rollup (one of the day's figures shards,
   so concurrent sales rarely touch the same item).
   The purchase is written on condition that it does not exist yet (or is still `pending`), so
   among any number of duplicate or concurrent deliveries exactly one transaction commits.
   The winner's purchase is written already holding the *receipt claim*.
2. Whoever holds the claim sends the receipt, then records `receipt_sent_at`. If SES fails,
   the claim is released and the caller answers 5xx; Stripe's retry finds the purchase paid,
   no receipt sent and no live claim, takes the claim and sends. A claim left by a crashed
   container expires after `CLAIM_LEASE`; until then a delivery that finds the claim taken and
   no receipt recorded waits briefly, then answers 409 so that Stripe comes back later.

The transaction carries a client request token, so the SDK's retry of a commit whose answer was
lost succeeds instead of failing its own conditions; if it fails them anyway, the claim's time
tells that the commit (and so the claim) was ours.

What the purchase records (its amounts and currency, its figures series) is
`sale.purchase_record`'s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PynamoDBException, UpdateError

from chalicelib.catalog.products import Catalog
from chalicelib.catalog.view import ProductView
from chalicelib.errors import NotFound, ReceiptPending, ReceiptRejected, Unavailable
from chalicelib.payments.events import CheckoutFacts
from chalicelib.platform.tables import DailySales, DownloadLink, License, Purchase
from chalicelib.platform.transactions import (
    CONDITION,
    CONFLICT,
    Cancelled,
    Transactions,
    condition_failed,
)
from chalicelib.sale.figures import figures_item, sale_day
from chalicelib.sale.license_keys import derive_key, key_hash, new_license, shown_key
from chalicelib.sale.links import LinkPolicy
from chalicelib.sale.notices import SellerNotices
from chalicelib.sale.outcome import Outcome
from chalicelib.sale.purchase_record import new_purchase
from chalicelib.sale.purchases import PAID_STATUSES, Purchases
from chalicelib.sale.receipts import Mailer, receipt_for

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)
RECEIPT_WAIT_SECONDS = 3.0


class Fulfilment:
    """Records purchases and sends receipts, each exactly once per Checkout Session."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        purchases: Purchases,
        mailer: Mailer,
        links: LinkPolicy,
        transactions: Transactions,
        timezone: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        currency: str = "usd",
        notices: SellerNotices | None = None,
        figures_shards: int = 1,
    ) -> None:
        self._currency = currency
        self._notices = notices
        self._shards = figures_shards
        self._catalog = catalog
        self._purchases = purchases
        self._mailer = mailer
        self._links = links
        self._transactions = transactions
        self._timezone = timezone
        self._clock = clock

    # -- events -------------------------------------------------------------------------

    def checkout_completed(self, facts: CheckoutFacts) -> Outcome:
        """`checkout.session.completed`: fulfil if paid, else record a pending purchase."""
        if facts.payment_status in PAID_STATUSES:
            return self.fulfil(facts)
        return self.record_pending(facts)

    def record_pending(self, facts: CheckoutFacts) -> Outcome:
        """Remember an unpaid session (an async payment is on its way); send nothing."""
        return self._record_unpaid(facts, "pending", Purchase.session_id.does_not_exist())

    def record_failed(self, facts: CheckoutFacts) -> Outcome:
        """`checkout.session.async_payment_failed`: mark a pending purchase failed."""
        still_open = Purchase.session_id.does_not_exist() | (Purchase.status == "pending")
        return self._record_unpaid(facts, "failed", still_open)

    def _record_unpaid(self, facts: CheckoutFacts, status: str, condition) -> Outcome:
        product = self._product(facts)
        if product is None:
            return Outcome("ignored", facts.session_id, "unknown product")
        purchase = self._purchase(facts, product, status=status)
        try:
            self._transactions.single(lambda: purchase.save(condition=condition))
        except PynamoDBException as exc:
            if condition_failed(exc):
                return Outcome("duplicate", facts.session_id)
            raise Unavailable("The store could not record the purchase.") from exc
        return Outcome(status, facts.session_id)

    def fulfil(self, facts: CheckoutFacts) -> Outcome:
        """Record the paid purchase, its link and the rollup together, then send the receipt.

        Safe to call any number of times, concurrently, for the same session.

        Raises:
            Unavailable: DynamoDB or SES failed; nothing is half-written and a retry finishes.
        """
        product = self._product(facts)
        if product is None:
            return Outcome("ignored", facts.session_id, "unknown product")
        claimed: list[datetime] = []

        def commit() -> Purchase:
            claimed.append(self._clock())
            return self._commit(facts, product, claimed[-1])

        try:
            purchase = self._transactions.attempt(
                commit, retry_on=(CONFLICT,), failure="The store could not record the purchase."
            )
        except Cancelled as exc:
            if exc.first != CONDITION:
                raise Unavailable("The store could not record the purchase.") from exc
            return self.ensure_receipt(facts.session_id, our_claim=claimed[-1])
        return self._receipt_then_notice(purchase)

    def ensure_receipt(self, session_id: str, our_claim: datetime | None = None) -> Outcome:
        """For a purchase already recorded: send its receipt unless sent or being sent.

        `our_claim` is the claim time this caller's own commit wrote: finding it on the purchase
        means that commit went through although its answer was lost.

        Raises:
            ReceiptPending: another delivery holds the claim and has not recorded the receipt.
            ReceiptNotSent, Unavailable: SES or DynamoDB failed; a retry finishes the job.
        """
        purchase = self.purchase(session_id)
        if purchase.status != "paid" or purchase.receipt_sent_at or not purchase.email:
            return Outcome("duplicate", session_id)
        if purchase.receipt_error:
            return Outcome("duplicate", session_id, "receipt refused by SES")
        if our_claim is not None and purchase.receipt_claimed_at == our_claim:
            return self._receipt_then_notice(purchase)
        now = self._clock()
        try:
            self._update(
                purchase,
                [Purchase.receipt_claimed_at.set(now)],
                condition=(
                    Purchase.receipt_sent_at.does_not_exist()
                    & (
                        Purchase.receipt_claimed_at.does_not_exist()
                        | (Purchase.receipt_claimed_at < now - CLAIM_LEASE)
                    )
                ),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return self._await_receipt(session_id)
            raise Unavailable("The store could not record the receipt.") from exc
        return self._receipt_then_notice(purchase, "sent on retry")

    def _await_receipt(self, session_id: str) -> Outcome:
        """Another delivery holds the claim: wait a moment for it to record the receipt.

        Its holder normally finishes within milliseconds. If it does not, it may have died with
        the claim, so ask Stripe to come back (409) rather than report a receipt nobody sent.
        """
        deadline = time.monotonic() + RECEIPT_WAIT_SECONDS
        while True:
            purchase = self.purchase(session_id)
            if purchase.receipt_sent_at or purchase.receipt_error:
                return Outcome("duplicate", session_id, "receipt sent by another delivery")
            if time.monotonic() >= deadline:
                raise ReceiptPending("The receipt is still being sent; retry later.")
            time.sleep(0.1)

    def purchase(self, session_id: str) -> Purchase:
        """The recorded purchase (strongly consistent read). Raises NotFound or Unavailable."""
        return self._purchases.get(session_id)

    # -- internals ----------------------------------------------------------------------

    def _product(self, facts: CheckoutFacts) -> ProductView | None:
        try:
            return self._catalog.get(facts.product_id)
        except NotFound:
            # A session of another store or stage on the same Stripe account.
            logger.warning("session %s names unknown product", facts.session_id)
            return None

    def _purchase(self, facts: CheckoutFacts, product: ProductView, status: str) -> Purchase:
        return new_purchase(facts, product, status, self._currency, self._clock())

    def _commit(self, facts: CheckoutFacts, product: ProductView, now: datetime) -> Purchase:
        link = self._links.new_link(facts.session_id, product, now)
        purchase = self._purchase(facts, product, status="paid")
        purchase.paid_at = now
        purchase.sale_day = sale_day(facts.sold_at, self._timezone)
        purchase.link_version = 1
        purchase.token_hash = link.token_hash
        purchase.link_state = "active"
        purchase.receipt_claimed_at = now
        key = derive_key(self._links.key, facts.session_id) if product.license_keys else None
        purchase.license_hash = key_hash(key) if key else None
        link.licensed = True if key else None
        still_unpaid = Purchase.session_id.does_not_exist() | (Purchase.status == "pending")
        day = (facts.sold_at, self._timezone, purchase.figures_key, facts.session_id, self._shards)
        with self._transactions.write(idempotent=True) as tx:
            tx.save(purchase, condition=still_unpaid)
            tx.save(link, condition=DownloadLink.token_hash.does_not_exist())
            if key:
                licensed = new_license(key, facts.session_id, product, now)
                tx.save(licensed, condition=License.token_hash.does_not_exist())
            tx.update(
                figures_item(*day),
                actions=[
                    DailySales.orders.add(1),
                    DailySales.gross_cents.add(int(purchase.amount_cents)),
                    DailySales.tax_cents.add(int(purchase.tax_cents)),
                    DailySales.discount_cents.add(int(purchase.discount_cents)),
                    DailySales.currency.set(purchase.currency),
                ],
            )
        return purchase

    def _receipt_then_notice(self, purchase: Purchase, sent: str = "") -> Outcome:
        """Send the receipt whose claim we hold, then the seller's sale notice (at most once per
        purchase; its failure is logged, never raised: the buyer's part is done)."""
        note = self._send_claimed(purchase)
        if self._notices is not None:
            self._notices.sale(purchase)
        return Outcome("fulfilled", purchase.session_id, note or sent)

    def _send_claimed(self, purchase: Purchase) -> str:
        """Send the receipt for a purchase whose claim we hold; release it if SES fails.

        Returns a note for the outcome ("" when sent). An address SES refuses for good is
        recorded on the purchase (the seller sees it) and not retried.
        """
        if not purchase.email:
            return "no email address"
        receipt = receipt_for(
            purchase,
            self._links.url(purchase.session_id, int(purchase.link_version)),
            downloads=self._links.download_limit,
            expires_at=self._links.expiry(purchase.paid_at or self._clock()),
            license_key=shown_key(self._links.key, purchase),
        )
        try:
            self._mailer.send_receipt(receipt)
        except ReceiptRejected:
            logger.error("SES refused the receipt address of %s", purchase.session_id)
            try:
                self._update(purchase, [Purchase.receipt_error.set("address refused by SES")])
            except PynamoDBException as exc:
                raise Unavailable("The store could not record the receipt.") from exc
            return "receipt refused by SES"
        except Unavailable:
            self._release_claim(purchase)
            raise
        try:
            self._update(purchase, [Purchase.receipt_sent_at.set(self._clock())])
        except PynamoDBException:
            # The buyer has the receipt; only our note of it failed (after PynamoDB's own
            # retries). Succeed and keep the claim: a 5xx would have Stripe redeliver after the
            # lease and mail again. (A duplicate arriving meanwhile cannot tell this from a dead
            # claim holder and may still cause a second receipt; never none.)
            logger.error("receipt for %s sent but not recorded", purchase.session_id)
        return ""

    def _update(self, purchase: Purchase, actions: list, condition=None) -> None:
        """One plain update of the purchase, retried past a duplicate's transaction on it."""
        self._transactions.single(lambda: purchase.update(actions=actions, condition=condition))

    def _release_claim(self, purchase: Purchase) -> None:
        try:
            self._update(purchase, [Purchase.receipt_claimed_at.remove()])
        except PynamoDBException:
            logger.warning("could not release receipt claim on %s", purchase.session_id)
