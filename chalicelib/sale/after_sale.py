"""After the sale: refunds, disputes and early fraud warnings from Stripe; with them, through
`SellerActions` (`sale.seller_actions`), the seller's resend / reset / revoke / refund.

Stripe's events add causes to the purchase (`sale.standing`: each refund and dispute by id, the
charge's refunded amount, the seller's revoke) and everything else follows from the causes: the
refunded and disputed amounts, the dispute summary, the link's state. So a duplicate adds
nothing (a no-op), and any order of the same events ends in the same state. Every change goes
through `PurchaseChanges`: read the purchase, decide, and write purchase, link and the day's
figures in one transaction conditioned on the purchase being unchanged since the read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.errors import Conflict
from chalicelib.payments.events import is_ours
from chalicelib.platform.tables import FraudWarning, Purchase
from chalicelib.platform.transactions import Transactions
from chalicelib.sale.changes import Change, PurchaseChanges, restated
from chalicelib.sale.links import LinkPolicy
from chalicelib.sale.notices import SellerNotices
from chalicelib.sale.outcome import Outcome
from chalicelib.sale.purchases import Purchases
from chalicelib.sale.receipts import Mailer
from chalicelib.sale.seller_actions import SellerActions
from chalicelib.sale.standing import CLOSED_RANK, TAKEN_BACK, Dispute, Refund, Standing

logger = logging.getLogger(__name__)

DISPUTE_GRACE = timedelta(hours=1)


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class AfterSale(SellerActions):
    """Refunds, disputes and fraud warnings from Stripe; the seller's resend / reset / revoke /
    refund come from `SellerActions`.

    `refund(payment_intent, idempotency_key)` asks Stripe for a full refund (the store's
    `Checkout.refund`); with `refund_on_fraud_warning` an actionable early fraud warning uses it.
    """

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
        refund: Callable[[str, str], str] | None = None,
        refund_on_fraud_warning: bool = False,
        notices: SellerNotices | None = None,
        figures_shards: int = 1,
    ) -> None:
        changes = PurchaseChanges(
            purchases=purchases,
            links=links,
            transactions=transactions,
            timezone=timezone,
            clock=clock,
            applied=notices.changed if notices is not None else None,
            figures_shards=figures_shards,
        )
        super().__init__(
            purchases=purchases, links=links, mailer=mailer, changes=changes, clock=clock
        )
        self._refund = refund
        self._refund_on_fraud_warning = refund_on_fraud_warning
        self._store_id = store_id

    # -- Stripe events ------------------------------------------------------------------

    def charge_refunded(self, charge: dict[str, Any], at: datetime) -> Outcome:
        """`charge.refunded`: the charge's refunds (by id where it lists them; its cumulative
        `amount_refunded` for the rest). A full refund kills the link."""
        refunded = _as_int(charge.get("amount_refunded"))
        purchase = self._purchases.by_payment(_id(charge.get("payment_intent")))
        ours = is_ours(charge.get("metadata"), self._store_id)
        if purchase is None and ours and refunded is not None:
            # Stripe copies the PaymentIntent's metadata (set at checkout) onto the charge: this
            # refund is ours but its checkout event has not arrived yet. A 409 makes Stripe
            # deliver it again later, after the purchase exists.
            raise Conflict("The purchase is not recorded yet; retry later.", code="not_yet")
        if purchase is None or refunded is None or refunded < 0:
            return Outcome("ignored", detail="not a charge of this store")
        when = _epoch(at)
        listed = [_refund(r, when) for r in _listed_refunds(charge.get("refunds"))]

        def causes(s: Standing) -> Standing:
            s = s.with_charge_snapshot(refunded, when)
            for refund in listed:
                if refund is not None:
                    s = s.with_refund(refund)
            return s

        return self._restate(purchase.session_id, causes, at, "refunded")

    def refund_changed(
        self, refund: dict[str, Any], at: datetime, *, failed: bool = False
    ) -> Outcome:
        """`refund.created`, `refund.updated`, `charge.refund.updated` (a refund object) and,
        with `failed`, `refund.failed`: one refund by id. A refund that failed or was canceled
        is taken back: the refunded amount drops and a link it alone killed works again."""
        record = _refund(refund, _epoch(at), failed=failed)
        if record is None:
            return Outcome("ignored", detail="not a refund")
        purchase = self._purchase_of(refund.get("payment_intent"), at)
        if purchase is None:
            return Outcome("ignored", detail="not a refund of this store")
        result = "refund_taken_back" if not record.counted else "refunded"
        return self._restate(purchase.session_id, lambda s: s.with_refund(record), at, result)

    def refund_failed(self, refund: dict[str, Any], at: datetime) -> Outcome:
        """`refund.failed`."""
        return self.refund_changed(refund, at, failed=True)

    def dispute_created(self, dispute: dict[str, Any], at: datetime) -> Outcome:
        """A dispute opened: downloads pause while it (or any other) is open."""
        record = _dispute(dispute, "open", at)
        if record is None:
            return Outcome("ignored", detail="not a dispute")
        purchase = self._purchase_of(dispute.get("payment_intent"), at)
        if purchase is None:
            return Outcome("ignored", detail="not a charge of this store")
        return self._restate(purchase.session_id, lambda s: s.with_dispute(record), at, "on_hold")

    def dispute_closed(self, dispute: dict[str, Any], at: datetime) -> Outcome:
        """A dispute closed: `lost` revokes the link and counts as disputed on this day; `won`,
        `warning_closed` and `prevented` end its hold."""
        status = dispute.get("status")
        if status not in CLOSED_RANK:
            return Outcome("ignored", detail="not a closed dispute")
        record = _dispute(dispute, str(status), at)
        if record is None:
            return Outcome("ignored", detail="not a dispute")
        purchase = self._purchase_of(dispute.get("payment_intent"), at)
        if purchase is None:
            return Outcome("ignored", detail="not a closed dispute of this store")
        return self._restate(purchase.session_id, lambda s: s.with_dispute(record), at, status)

    def fraud_warning(self, warning: dict[str, Any], at: datetime) -> Outcome:
        """`radar.early_fraud_warning.created`: recorded on the purchase for the seller; with
        `REFUND_ON_FRAUD_WARNING` and an actionable warning, the payment is refunded once.

        Exactly once: the warning is recorded first (by its id; a duplicate records nothing),
        then the refund is asked of Stripe under an idempotency key made of the warning's id,
        and its id recorded on the warning. A delivery that finds the refund recorded asks
        nothing; one that comes back after a failure between the two asks again with the same
        key, and Stripe answers with the refund it made (Stripe keeps keys for 24 hours; its
        redeliveries after a 5xx come well within them).
        """
        warning_id = warning.get("id")
        if not isinstance(warning_id, str) or not warning_id:
            return Outcome("ignored", detail="not an early fraud warning")
        charge = warning.get("charge")
        intent = warning.get("payment_intent") or (
            charge.get("payment_intent") if isinstance(charge, dict) else None
        )
        purchase = self._purchase_of(intent, at)
        if purchase is None:
            return Outcome("ignored", detail="not a charge of this store")
        fraud_type = warning.get("fraud_type")
        record = FraudWarning(
            warning_id=warning_id,
            fraud_type=fraud_type if isinstance(fraud_type, str) else None,
            actionable=warning.get("actionable") is True,
            warned_at=at,
        )

        def decide(p: Purchase) -> Change | None:
            _require_settled(p)
            known = list(p.fraud_warnings or [])
            if any(w.warning_id == warning_id for w in known):
                return None
            return Change(purchase={"fraud_warnings": [*known, record]})

        outcome = self._changes.apply(purchase.session_id, decide, at, "fraud_warning")
        if self._refund_on_fraud_warning and record.actionable:
            return self._refund_for_warning(purchase.session_id, warning_id, at) or outcome
        return outcome

    def _refund_for_warning(self, session_id: str, warning_id: str, at: datetime) -> Outcome | None:
        purchase = self.get(session_id)
        if purchase.status != "paid" or not purchase.payment_intent or self._refund is None:
            return None
        warning = next(w for w in purchase.fraud_warnings or [] if w.warning_id == warning_id)
        if warning.refund_id:
            return None
        if Standing.of(purchase).fully_refunded:
            refund_id = "already_refunded"
        else:
            try:
                refund_id = self._refund(purchase.payment_intent, f"fraud-warning-{warning_id}")
            except Conflict:  # Stripe: refunded already (in its dashboard, say)
                refund_id = "already_refunded"

        def decide(p: Purchase) -> Change | None:
            warnings = list(p.fraud_warnings or [])
            for w in warnings:
                if w.warning_id == warning_id and not w.refund_id:
                    w.refund_id = refund_id
                    return Change(purchase={"fraud_warnings": warnings})
            return None

        self._changes.apply(session_id, decide, at, "refund_requested")
        return Outcome("refund_requested", session_id)

    # -- the mechanism --------------------------------------------------------------------

    def _restate(
        self, session_id: str, causes: Callable[[Standing], Standing], at: datetime, result: str
    ) -> Outcome:
        """Add what an event says to the purchase's causes and record what follows: refunded
        and disputed amounts (their change counts in the figures on `at`'s day), the dispute
        summary, the link's state. A delivery that adds nothing new is a duplicate."""

        def decide(p: Purchase) -> Change | None:
            _require_settled(p)
            if p.status != "paid":
                return None
            return restated(p, causes, self._clock())

        return self._changes.apply(session_id, decide, at, result)

    def _purchase_of(self, intent: Any, at: datetime) -> Purchase | None:
        """The purchase a refund, dispute or warning names by its PaymentIntent. None of these
        names a product, so one whose payment is unknown may be ours with its checkout event
        still on the way: answer 409 so Stripe redelivers it, but only for `DISPUTE_GRACE`
        after the event (a shared Stripe account's other stores' events are then ignored
        instead of retried for days)."""
        intent = _id(intent)
        purchase = self._purchases.by_payment(intent)
        recent = self._clock() - at < DISPUTE_GRACE
        if purchase is None and recent and isinstance(intent, str) and intent.startswith("pi_"):
            raise Conflict("The purchase is not recorded yet; retry later.", code="not_yet")
        return purchase


def _id(value: Any) -> Any:
    """A Stripe reference: its id, whether sent as the id or as the expanded object."""
    return value.get("id") if isinstance(value, dict) else value


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _listed_refunds(refunds: Any) -> list[dict[str, Any]]:
    """The refunds a charge lists: a list object (`{"data": [...]}`) in API versions before
    2022-11-15 (newer ones list them only when expanded), a plain list in the oldest ones."""
    items = refunds.get("data") if isinstance(refunds, dict) else refunds
    return [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []


def _refund(refund: dict[str, Any], at: int, *, failed: bool = False) -> Refund | None:
    refund_id, amount = refund.get("id"), _as_int(refund.get("amount"))
    if not isinstance(refund_id, str) or not refund_id or amount is None or amount < 0:
        return None
    status = refund.get("status")
    status = "failed" if failed else status if isinstance(status, str) and status else "succeeded"
    created = _as_int(refund.get("created"))
    return Refund(
        refund_id,
        amount,
        status,
        created=created,
        failed_at=at if status in TAKEN_BACK else None,
    )


def _dispute(dispute: dict[str, Any], status: str, at: datetime) -> Dispute | None:
    dispute_id, amount = dispute.get("id"), _as_int(dispute.get("amount"))
    if not isinstance(dispute_id, str) or not dispute_id:
        return None
    reason = dispute.get("reason")
    return Dispute(
        dispute_id,
        amount if amount is not None and amount > 0 else 0,
        status,
        reason=reason if isinstance(reason, str) else None,
        closed_at=None if status == "open" else _epoch(at),
    )


def _require_settled(purchase: Purchase) -> None:
    """A refund or dispute can only follow a payment: while ours is still pending, its
    success event is on the way, so ask Stripe to redeliver this one later (409)."""
    if purchase.status == "pending":
        raise Conflict("The payment is not recorded as settled yet; retry later.", code="not_yet")
