"""Where a purchase stands after the sale, derived from its causes and nothing else.

The causes are what Stripe and the seller said, each kept by its own key so that a duplicate
says nothing new and the order of arrival does not matter:

- every refund by id, with its latest status: a status only moves forward (pending, then
  succeeded, then failed or canceled), so an old event never undoes a newer one;
- the charge's `amount_refunded` from the latest `charge.refunded` (newer API versions list no
  refunds on the charge): it stands for the refunds not known one by one;
- every dispute by id: `open` until it closes; a closed dispute never reopens;
- the seller's revoke.

From them follow the refunded and disputed amounts, the dispute summary and the link's state,
so every order of the same events ends in the same state. Amounts are kept in the charge's
currency (what Stripe reports them in) and shown in the purchase's recorded currency.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib.platform.tables import DisputeRecord, Purchase, RefundRecord

# A refund's status only moves up this order; failed and canceled refunds count for nothing.
REFUND_RANK = {"pending": 0, "requires_action": 0, "succeeded": 1, "failed": 2, "canceled": 2}
TAKEN_BACK = ("failed", "canceled")
# How a dispute closes; `charge_refunded` is the closing status of old API versions. If two
# closing statuses were ever reported for one dispute, the higher one stands.
CLOSED_RANK = {"warning_closed": 1, "charge_refunded": 1, "prevented": 2, "won": 3, "lost": 4}


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    status: str
    created: int | None = None  # the refund's own time, epoch seconds
    failed_at: int | None = None  # the earliest event that said failed or canceled

    @property
    def counted(self) -> bool:
        return self.status not in TAKEN_BACK

    def joined(self, newer: Refund) -> Refund:
        """This refund updated by another report of it, whatever their order."""
        status = max(self.status, newer.status, key=lambda s: REFUND_RANK.get(s, 0))
        failures = [t for t in (self.failed_at, newer.failed_at) if t is not None]
        return Refund(
            self.id,
            amount=max(self.amount, newer.amount),
            status=status,
            created=self.created if self.created is not None else newer.created,
            failed_at=min(failures) if failures else None,
        )


@dataclass(frozen=True)
class Dispute:
    id: str
    amount: int
    status: str = "open"
    reason: str | None = None
    closed_at: int | None = None

    @property
    def open(self) -> bool:
        return self.status not in CLOSED_RANK

    def joined(self, newer: Dispute) -> Dispute:
        if self.open and newer.open:
            return replace(self, reason=self.reason or newer.reason)
        if self.open or (not newer.open and CLOSED_RANK[newer.status] > CLOSED_RANK[self.status]):
            closed, other = newer, self
        else:
            closed, other = self, newer
        return replace(
            closed,
            amount=closed.amount or other.amount,
            reason=closed.reason or other.reason,
        )


@dataclass(frozen=True)
class Standing:
    """The causes of one purchase's after-sale state (amounts in the charge's currency)."""

    charged: int  # what the charge was for
    refunds: tuple[Refund, ...] = ()
    charge_refunded: int | None = None
    charge_refunded_at: int | None = None
    disputes: tuple[Dispute, ...] = ()
    revoked: bool = False

    # -- what the causes amount to --------------------------------------------------------

    @property
    def refunded(self) -> int:
        """What Stripe says was refunded: the refunds known by id that still count, plus what
        the latest charge snapshot refunded beyond the known refunds that counted then."""
        counted_now = sum(r.amount for r in self.refunds if r.counted)
        unknown = 0
        if self.charge_refunded is not None:
            at = self.charge_refunded_at or 0
            in_snapshot = sum(
                r.amount
                for r in self.refunds
                if (r.created is None or r.created <= at)
                and (r.failed_at is None or r.failed_at > at)
            )
            unknown = max(0, self.charge_refunded - in_snapshot)
        return min(self.charged, counted_now + unknown) if self.charged > 0 else 0

    @property
    def fully_refunded(self) -> bool:
        return self.charged > 0 and self.refunded >= self.charged

    @property
    def lost(self) -> int:
        """The amount of the disputes lost."""
        return sum(d.amount or self.charged for d in self.disputes if d.status == "lost")

    @property
    def dispute_status(self) -> str | None:
        """`open` while any dispute is; else the weightiest way one closed; None if none."""
        if not self.disputes:
            return None
        if any(d.open for d in self.disputes):
            return "open"
        return max((d.status for d in self.disputes), key=CLOSED_RANK.__getitem__)

    @property
    def link_state(self) -> str:
        """`refunded` (in full), else `revoked` (by the seller or a lost dispute), else
        `on_hold` while a dispute is open, else `active`."""
        if self.fully_refunded:
            return "refunded"
        if self.revoked or any(d.status == "lost" for d in self.disputes):
            return "revoked"
        if any(d.open for d in self.disputes):
            return "on_hold"
        return "active"

    # -- new causes -----------------------------------------------------------------------

    def with_refund(self, refund: Refund) -> Standing:
        known = {r.id: r for r in self.refunds}
        known[refund.id] = known[refund.id].joined(refund) if refund.id in known else refund
        return replace(self, refunds=tuple(sorted(known.values(), key=lambda r: r.id)))

    def with_charge_snapshot(self, amount_refunded: int, at: int) -> Standing:
        """The charge's `amount_refunded` at event time `at`; the latest snapshot stands (the
        larger one if two share a second)."""
        current = (self.charge_refunded_at, self.charge_refunded)
        if self.charge_refunded is not None and current >= (at, amount_refunded):
            return self
        return replace(self, charge_refunded=amount_refunded, charge_refunded_at=at)

    def with_dispute(self, dispute: Dispute) -> Standing:
        known = {d.id: d for d in self.disputes}
        known[dispute.id] = known[dispute.id].joined(dispute) if dispute.id in known else dispute
        return replace(self, disputes=tuple(sorted(known.values(), key=lambda d: d.id)))

    def with_revoke(self) -> Standing:
        return replace(self, revoked=True)

    # -- storage --------------------------------------------------------------------------

    @classmethod
    def of(cls, purchase: Purchase) -> Standing:
        """The causes recorded on a purchase (also one recorded before causes were kept: its
        refunded amount, single dispute and revoked link stand as causes)."""
        charged = int(purchase.charged_cents or purchase.amount_cents or 0)
        refunds = tuple(
            Refund(
                r.refund_id,
                int(r.amount_cents or 0),
                r.status or "succeeded",
                _int_or_none(r.created),
                _int_or_none(r.failed_at),
            )
            for r in purchase.refunds or []
        )
        snapshot = _int_or_none(purchase.charge_refunded_cents)
        snapshot_at = _int_or_none(purchase.charge_refunded_at)
        if purchase.refunds is None and snapshot is None and int(purchase.refunded_cents or 0):
            snapshot, snapshot_at = int(purchase.refunded_cents), 0
        disputes = tuple(
            Dispute(
                d.dispute_id,
                int(d.amount_cents or 0),
                d.status or "open",
                d.reason,
                _int_or_none(d.closed_at),
            )
            for d in purchase.disputes or []
        )
        legacy_status = purchase.dispute_status
        if purchase.disputes is None and legacy_status:
            disputes = (Dispute(purchase.dispute_id or "legacy", charged, legacy_status),)
        revoked = purchase.revoked_at is not None or (
            purchase.revoked_at is None
            and purchase.disputes is None
            and purchase.link_state == "revoked"
            and legacy_status != "lost"
        )
        return cls(charged, refunds, snapshot, snapshot_at, disputes, revoked)

    def fields(self, purchase: Purchase, now: datetime) -> dict[str, Any]:
        """The purchase's attributes that record these causes and what follows from them."""
        return {
            "refunds": [
                RefundRecord(
                    refund_id=r.id,
                    amount_cents=r.amount,
                    status=r.status,
                    created=r.created,
                    failed_at=r.failed_at,
                )
                for r in self.refunds
            ],
            "charge_refunded_cents": self.charge_refunded,
            "charge_refunded_at": self.charge_refunded_at,
            "disputes": [
                DisputeRecord(
                    dispute_id=d.id,
                    amount_cents=d.amount,
                    status=d.status,
                    reason=d.reason,
                    closed_at=d.closed_at,
                )
                for d in self.disputes
            ],
            "revoked_at": purchase.revoked_at or (now if self.revoked else None),
            "refunded_cents": recorded(purchase, self.refunded),
            "disputed_cents": recorded(purchase, self.lost),
            "dispute_status": self.dispute_status,
            "dispute_id": None,
        }


def recorded(purchase: Purchase, charged_amount: int) -> int:
    """An amount in the charge's currency as the purchase records it: the same, or in the
    store's currency when Stripe converted the sale (pro rata, never above the sale)."""
    amount = int(purchase.amount_cents or 0)
    charged = int(purchase.charged_cents or 0)
    if not purchase.charged_cents or charged == amount:
        return charged_amount
    return min(amount, pro_rata(charged_amount, amount, charged))


def pro_rata(value: int, numerator: int, denominator: int) -> int:
    """`value * numerator / denominator`, rounded half up, in integers (0 over nothing)."""
    if denominator <= 0:
        return 0
    return (2 * value * numerator + denominator) // (2 * denominator)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
