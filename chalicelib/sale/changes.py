"""How a purchase changes after the sale, in one place: read it, decide, and write purchase,
link and (for refunds and lost disputes) the day's figures in one transaction conditioned on the
purchase being unchanged since the read. A concurrent change makes the write retry on fresh
state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.platform.tables import DailySales, DownloadLink, Purchase
from chalicelib.platform.transactions import CONDITION, CONFLICT, Transactions
from chalicelib.sale.figures import figures_item
from chalicelib.sale.links import LinkPolicy
from chalicelib.sale.outcome import Outcome
from chalicelib.sale.purchases import Purchases
from chalicelib.sale.standing import Standing, recorded


@dataclass
class Change:
    """What one event or action does to a purchase."""

    purchase: dict[str, Any] = field(default_factory=dict)
    link_state: str | None = None
    link_reset: bool = False
    refunded_delta: int = 0
    disputed_delta: int = 0
    new_link_version: int | None = None


class PurchaseChanges:
    """Applies `Change`s to purchases, their links and the sales figures."""

    def __init__(
        self,
        *,
        purchases: Purchases,
        links: LinkPolicy,
        transactions: Transactions,
        timezone: str,
        clock: Callable[[], datetime],
        applied: Callable[[str, Purchase, Change, datetime], None] | None = None,
        figures_shards: int = 1,
    ) -> None:
        # Told of each change newly written (result, purchase as read, change, time): the
        # seller's notices. Never of a duplicate; it must not raise.
        self._applied = applied
        self._shards = figures_shards
        self._purchases = purchases
        self._links = links
        self._transactions = transactions
        self._timezone = timezone
        self._clock = clock

    def apply(
        self,
        session_id: str,
        decide: Callable[[Purchase], Change | None],
        at: datetime,
        result: str,
    ) -> Outcome:
        """Read the purchase, let `decide` say what changes (None: nothing, a duplicate), and
        write it; again on fresh state if the purchase changed meanwhile.

        Raises:
            Unavailable: DynamoDB failed, or the purchase kept changing.
        """

        written: list[tuple[Purchase, Change]] = []

        def attempt() -> Outcome:
            purchase = self._purchases.get(session_id)
            change = decide(purchase)
            if change is None:
                return Outcome("duplicate", session_id)
            self._write(purchase, change, at)
            written.append((purchase, change))
            return Outcome(result, session_id)

        failure = "The store could not record the change."
        outcome = self._transactions.attempt(
            attempt, retry_on=(CONDITION, CONFLICT), failure=failure
        )
        if written and self._applied is not None:
            self._applied(result, *written[-1], at)
        return outcome

    def _write(self, purchase: Purchase, change: Change, at: datetime) -> None:
        now = self._clock()
        actions = [Purchase.updated_at.set(now)]
        actions += [
            getattr(Purchase, name).remove()
            if value is None
            else getattr(Purchase, name).set(value)
            for name, value in change.purchase.items()
        ]
        if change.link_state:
            actions.append(Purchase.link_state.set(change.link_state))
        new_link: DownloadLink | None = None
        old_unchanged = None
        if change.new_link_version is not None:
            new_link, old_unchanged = self._replacement_link(purchase, change.new_link_version, now)
            actions += [
                Purchase.link_version.set(change.new_link_version),
                Purchase.token_hash.set(new_link.token_hash),
            ]
        unchanged = (
            Purchase.updated_at == purchase.updated_at
            if purchase.updated_at
            else Purchase.updated_at.does_not_exist()
        )
        with self._transactions.write() as tx:
            tx.update(purchase, actions=actions, condition=unchanged)
            old_link = DownloadLink(purchase.token_hash) if purchase.token_hash else None
            if new_link is not None and old_link is not None:
                tx.save(new_link, condition=DownloadLink.token_hash.does_not_exist())
                tx.update(
                    old_link, actions=[DownloadLink.state.set("replaced")], condition=old_unchanged
                )
            elif old_link is not None and (change.link_state or change.link_reset):
                tx.update(
                    old_link,
                    actions=self._link_actions(change, now),
                    condition=DownloadLink.token_hash.exists(),
                )
            figures = []
            if change.refunded_delta:
                figures.append(DailySales.refunded_cents.add(change.refunded_delta))
            if change.disputed_delta:
                figures.append(DailySales.disputed_cents.add(change.disputed_delta))
            if figures:
                # On the day of the refund or the lost dispute, in the series of the sale.
                series = purchase.figures_key or purchase.product_id
                tx.update(
                    figures_item(at, self._timezone, series, purchase.session_id, self._shards),
                    actions=[*figures, DailySales.currency.set(purchase.currency)],
                )

    def _link_actions(self, change: Change, now: datetime) -> list[Any]:
        actions = []
        if change.link_state:
            actions.append(DownloadLink.state.set(change.link_state))
        if change.link_reset:
            actions += [
                DownloadLink.downloads_left.set(self._links.download_limit),
                DownloadLink.expires_at.set(int(self._links.expiry(now).timestamp())),
            ]
        return actions

    def _replacement_link(
        self, purchase: Purchase, version: int, now: datetime
    ) -> tuple[DownloadLink, Any]:
        """The new link, a copy of the old one's counts and log, and the condition that the
        old link is still as copied (a download in between makes the change retry)."""
        old = DownloadLink.get(purchase.token_hash, consistent_read=True)
        unchanged = (DownloadLink.downloads_left == int(old.downloads_left)) & (
            DownloadLink.state == old.state
        )
        return self._links.replacement(old, version, now), unchanged


def restated(
    purchase: Purchase, causes: Callable[[Standing], Standing], now: datetime
) -> Change | None:
    """The change that adds `causes` to a purchase; None when they are known already."""
    before = Standing.of(purchase)
    after = causes(before)
    if after == before and purchase.link_state == after.link_state:
        return None
    fields = after.fields(purchase, now)
    old_refunded = recorded(purchase, before.refunded)
    old_disputed = recorded(purchase, before.lost)
    return Change(
        purchase=fields,
        link_state=after.link_state if after.link_state != purchase.link_state else None,
        refunded_delta=fields["refunded_cents"] - old_refunded,
        disputed_delta=fields["disputed_cents"] - old_disputed,
    )
