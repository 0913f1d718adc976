"""The orders export: every order whose sale day (store timezone) falls in a range, oldest
first, for the seller's books (JSON or CSV).

Orders are read from the purchases' `recent-index` (partitioned by the UTC month of sale, sorted
by the time of sale) with a key range per month the range touches, never a scan: the cost grows
with the orders in the range, not with all orders stored. Any range may be asked for; the
answer comes in pages of at most `PAGE_SIZE` orders (well inside Lambda's 6 MB answer) and
`MONTHS_A_PAGE` months, each with a cursor to the next: where the page stopped (its month and
the index's last key), bound to the range it was made for.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import BadRequest, Unavailable
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
PAGE_SIZE = 2_000  # orders a page: under 6 MB of JSON even with long non-Latin names
MONTHS_A_PAGE = 120  # months one page reads at most, so a sparse century stays quick
# The index's key of an order: the table's key and the index's keys, all strings.
INDEX_KEY = ("session_id", "sale_month", "created_at")


@dataclass(frozen=True)
class OrdersPage:
    orders: list[dict[str, Any]]
    next: str | None  # the cursor of the next page; None on the last


def _cursor(days: DateRange, month: str, key: dict[str, Any] | None) -> str:
    data = {"range": [str(days.start), str(days.end)], "month": month, "key": key}
    encoded = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
    return encoded.decode().rstrip("=")  # URL-safe as it is: no padding to escape


def _from_month(days: DateRange, months: list[str], index: int) -> str | None:
    """The cursor that starts at `months[index]`; None past the range's last month."""
    return _cursor(days, months[index], None) if index < len(months) else None


def _resume(
    days: DateRange, cursor: str, months: list[str], bounds: tuple[datetime, datetime]
) -> tuple[int, dict[str, Any] | None]:
    """Where a cursor made for `days` resumes: the month's place in `months` and the key,
    whose time of sale lies within `bounds` (DynamoDB refuses a start key outside a query).

    Raises:
        BadRequest (`bad_cursor`): not a cursor of this range.
    """
    refused = BadRequest("cursor is not one this export gave for this range", code="bad_cursor")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeError):
        raise refused from None
    if not isinstance(data, dict) or data.get("range") != [str(days.start), str(days.end)]:
        raise refused
    month, key = data.get("month"), data.get("key")
    if month not in months:
        raise refused
    if key is not None and not (
        isinstance(key, dict)
        and sorted(key) == sorted(INDEX_KEY)
        and all(isinstance(v, dict) and list(v) == ["S"] for v in key.values())
        and all(isinstance(v["S"], str) and len(v["S"]) <= 200 for v in key.values())
        and key["sale_month"]["S"] == month
        and _sold_within(key["created_at"]["S"], bounds)
    ):
        raise refused
    return months.index(month), key


def _sold_within(stored: str, bounds: tuple[datetime, datetime]) -> bool:
    try:
        sold = Purchase.created_at.deserialize(stored)
    except ValueError:
        return False
    return bounds[0] <= sold < bounds[1]


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

    def page(
        self, days: DateRange, cursor: str | None = None, size: int | None = None
    ) -> OrdersPage:
        """At most `size` (default `PAGE_SIZE`) orders of the range, oldest first, from where
        `cursor` (the `next` of the page before) stopped.

        Raises:
            BadRequest (`bad_cursor`): a cursor this export did not give for this range.
            Unavailable: DynamoDB failed.
        """
        size = size or PAGE_SIZE
        start, end = self.bounds(days)
        last = end - timedelta(microseconds=1)
        months = _months(start, end)
        at, key = _resume(days, cursor, months, (start, end)) if cursor else (0, None)
        index = self._model.recent_index
        found: list[dict[str, Any]] = []
        read = months[at : at + MONTHS_A_PAGE]
        try:
            for month in read:
                query = index.query(
                    month,
                    range_key_condition=self._model.created_at.between(start, last),
                    scan_index_forward=True,
                    limit=size - len(found),
                    last_evaluated_key=key,
                )
                found += [self.row(p) for p in query]
                key = None
                if len(found) == size:  # full: on in this month, else from the next
                    if query.last_evaluated_key:
                        return OrdersPage(found, _cursor(days, month, query.last_evaluated_key))
                    return OrdersPage(found, _from_month(days, months, months.index(month) + 1))
        except PynamoDBException as exc:
            raise Unavailable("The store could not read the orders.") from exc
        return OrdersPage(found, _from_month(days, months, at + MONTHS_A_PAGE))

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
