"""The orders export: every order whose sale day (store timezone) falls in a range, oldest
first, for the seller's books (JSON or CSV).

Orders are read from the purchases' `recent-index` (partitioned by the UTC month of sale, sorted
by the time of sale) with a key range per month the range touches, never a scan: the cost grows
with the orders in the range, not with all orders stored.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import Unavailable
from chalicelib.platform.tables import Purchase, month_partition
from chalicelib.sale.figures import DateRange, sale_day

# Exactly the contract's columns, in its order.
CSV_HEADER = (
    "date",
    "order_id",
    "email",
    "product_id",
    "product_name",
    "currency",
    "amount_cents",
    "tax_cents",
    "discount_cents",
    "refunded_cents",
    "disputed_cents",
    "status",
)
# The payment's status as the export names it (`no_payment_required` is paid: a free order).
STATUSES = {"no_payment_required": "paid"}


def _months(start: datetime, end: datetime) -> list[str]:
    """The UTC month partitions from `start` to `end` (exclusive), in order."""
    months, month = [], start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while month < end:
        months.append(month_partition(month))
        month = (month + timedelta(days=32)).replace(day=1)
    return months


class Orders:
    """Reads the orders of a range of store-timezone days."""

    def __init__(self, model: type[Purchase], timezone: str) -> None:
        self._model = model
        self._timezone = timezone

    def bounds(self, days: DateRange) -> tuple[datetime, datetime]:
        """The UTC instants the range's days cover: from the first day's midnight in the store
        timezone to the midnight after the last day (exclusive)."""
        zone = ZoneInfo(self._timezone)
        start = datetime.combine(days.start, time(0), zone).astimezone(UTC)
        end = datetime.combine(days.end + timedelta(days=1), time(0), zone).astimezone(UTC)
        return start, end

    def between(self, days: DateRange) -> list[dict[str, Any]]:
        """Every order sold on the range's days, oldest first.

        Raises:
            Unavailable: DynamoDB failed.
        """
        start, end = self.bounds(days)
        last = end - timedelta(microseconds=1)
        index = self._model.recent_index
        found: list[dict[str, Any]] = []
        try:
            for month in _months(start, end):
                query = index.query(
                    month,
                    range_key_condition=self._model.created_at.between(start, last),
                    scan_index_forward=True,
                )
                found += [self.row(p) for p in query]
        except PynamoDBException as exc:
            raise Unavailable("The store could not read the orders.") from exc
        return found

    def row(self, purchase: Purchase) -> dict[str, Any]:
        """One order as the export shows it."""
        return {
            "date": sale_day(purchase.created_at, self._timezone),
            "order_id": purchase.session_id,
            "email": purchase.email or "",
            "product_id": purchase.product_id,
            "product_name": purchase.product_name or "",
            "currency": purchase.currency,
            "amount_cents": int(purchase.amount_cents or 0),
            "tax_cents": int(purchase.tax_cents or 0),
            "discount_cents": int(purchase.discount_cents or 0),
            "refunded_cents": int(purchase.refunded_cents or 0),
            "disputed_cents": int(purchase.disputed_cents or 0),
            "status": STATUSES.get(purchase.status, purchase.status),
        }


def orders_csv(orders: list[dict[str, Any]]) -> str:
    """The orders as CSV under exactly `CSV_HEADER`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_HEADER, lineterminator="\r\n")
    writer.writeheader()
    for order in orders:
        # A cell a spreadsheet would run as a formula is kept as text.
        writer.writerow({k: _cell(v) for k, v in order.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
