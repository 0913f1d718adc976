"""The sales figures: items per product (and currency other than the store's) and
store-timezone day, kept up to date by every sale, refund and lost dispute, and the reports
built from them: per day (zero days included), totals, per product, other currencies.

A day's series is split across `SALES_SHARDS` items (sort key `…#s07`), each sale counting in
the one its session id picks, so a launch's concurrent sales rarely write the same item (one
item would cancel concurrent transactions with `TransactionConflict`; see
docs/ARCHITECTURE.md). A report adds up every item of a day, sharded or (as stores wrote them
before) not.

A report reads the `DailySales` partitions of the months it covers with a sort-key range, so
its cost grows with the days asked (times the shards), never with the purchases stored.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import PynamoDBException

from chalicelib.catalog.products import Catalog
from chalicelib.errors import BadRequest, NotFound, Unavailable
from chalicelib.money import displayed as amounts_as_text
from chalicelib.money import format_amount, parse_amount
from chalicelib.platform.tables import DailySales, month_partition

DEFAULT_DAYS = 30
MAX_DAYS = 366
FIRST_YEAR, LAST_YEAR = 2000, 2999  # keeps date arithmetic far from date.min and date.max
# What each figures item adds up; a day adds `net_cents` = gross - refunded - disputed.
DAY_FIGURES = (
    "orders",
    "gross_cents",
    "refunded_cents",
    "disputed_cents",
    "tax_cents",
    "discount_cents",
)
DAY_FIELDS = (
    "orders",
    "gross_cents",
    "refunded_cents",
    "net_cents",
    "disputed_cents",
    "tax_cents",
    "discount_cents",
)
OTHER_FIGURES = ("orders", "gross_cents", "refunded_cents", "disputed_cents")
# New columns are only ever appended.
CSV_HEADER = ("date", *DAY_FIELDS)


def sale_day(when: datetime, timezone: str) -> str:
    """The store-timezone calendar day of a UTC instant, as YYYY-MM-DD."""
    return when.astimezone(ZoneInfo(timezone)).date().isoformat()


def figures_item(
    when: datetime, timezone: str, series: str, session_id: str = "", shards: int = 1
) -> DailySales:
    """The figures item a sale (or its refund) counts in: its series on the store-timezone day
    of `when` (key only). A series is a product (`prod_x`), or a product's sales in a currency
    other than the store's (`prod_x#eur`, see `figures_series`).

    With `shards` > 1 the item is one of that many (`2026-11-24#prod_x#s07`), chosen by a
    stable hash of `session_id`; one shard is the unsharded key (`2026-11-24#prod_x`).
    """
    day = sale_day(when, timezone)
    key = f"{day}#{series}"
    if shards > 1:
        digest = hashlib.sha256(session_id.encode()).digest()
        key += f"#s{int.from_bytes(digest[:4], 'big') % shards:02d}"
    return DailySales(month_partition(date.fromisoformat(day)), key)


def figures_series(product_id: str, currency: str, store_currency: str) -> str:
    """The series a sale counts in: its product's, apart per currency other than the store's."""
    return product_id if currency == store_currency else f"{product_id}#{currency}"


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def months(self) -> list[str]:
        months, day = [], self.start.replace(day=1)
        while day <= self.end:
            months.append(month_partition(day))
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return months


def _parse_day(value: str, name: str) -> date:
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a date like 2026-11-24", code="bad_date") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        message = f"{name} must fall between {FIRST_YEAR} and {LAST_YEAR}"
        raise BadRequest(message, code="bad_date")
    return day


def parse_range(
    start: str | None,
    end: str | None,
    timezone: str,
    now: datetime | None = None,
    max_days: int | None = MAX_DAYS,
) -> DateRange:
    """The report's days: `from`/`to` as given, else the last 30 days in the store timezone.

    Raises:
        BadRequest: a malformed date, `from` after `to`, or more than `max_days` days (None:
            any number).
    """
    today = (now or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(timezone)).date()
    last = _parse_day(end, "to") if end else today
    first = _parse_day(start, "from") if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise BadRequest("from must not be after to", code="bad_range")
    if max_days is not None and (last - first).days + 1 > max_days:
        raise BadRequest(f"a report covers at most {max_days} days", code="bad_range")
    return DateRange(first, last)


class Reports:
    """Builds sales reports from the rollups the fulfilment and refunds keep up to date."""

    def __init__(
        self, catalog: Catalog, timezone: str, currency: str, model: type[DailySales] = DailySales
    ) -> None:
        self._catalog = catalog
        self._timezone = timezone
        self._currency = currency
        self._model = model

    @property
    def timezone(self) -> str:
        """The store's timezone, in which the reports' days are."""
        return self._timezone

    def sales(self, days: DateRange) -> dict[str, Any]:
        """The report as the contract's JSON shape: days and totals in the store's currency,
        sales in any other currency apart in `other_currencies` (never added to the days).

        Raises:
            Unavailable: DynamoDB failed.
        """
        per_day: dict[str, dict[str, int]] = {d.isoformat(): _zero(DAY_FIGURES) for d in days.days}
        per_product: dict[str, dict[str, int]] = defaultdict(
            lambda: {"orders": 0, "gross_cents": 0}
        )
        others: dict[str, dict[str, int]] = defaultdict(lambda: _zero(OTHER_FIGURES))
        for row in self._rows(days):
            day, _, series = row.day_product.partition("#")
            product_id = series.split("#", 1)[0]
            if day not in per_day:
                continue
            figures = {name: int(getattr(row, name) or 0) for name in DAY_FIGURES}
            currency = (row.currency or self._currency).lower()
            if currency != self._currency:
                _add(others[currency], figures)
                continue
            _add(per_day[day], figures)
            _add(per_product[product_id], figures)
        rows = [{"date": day, **_with_net(values)} for day, values in per_day.items()]
        totals = {key: sum(row[key] for row in rows) for key in DAY_FIELDS}
        products = [
            {"id": product_id, "name": self._name(product_id), **values}
            for product_id, values in sorted(
                per_product.items(), key=lambda item: -item[1]["gross_cents"]
            )
        ]
        other_currencies = [
            {"currency": currency, **_with_net(values)}
            for currency, values in sorted(others.items())
        ]
        report = {
            "from": days.start.isoformat(),
            "to": days.end.isoformat(),
            "timezone": self._timezone,
            "currency": self._currency,
            "days": rows,
            "totals": totals,
            "products": products,
            "other_currencies": other_currencies,
        }
        return displayed(report)

    def _rows(self, days: DateRange) -> list[DailySales]:
        low, high = f"{days.start.isoformat()}#", f"{days.end.isoformat()}#\uffff"
        try:
            return [
                row
                for month in days.months
                for row in self._model.query(month, self._model.day_product.between(low, high))
            ]
        except PynamoDBException as exc:
            raise Unavailable("The store could not read its sales. Try again.") from exc

    def _name(self, product_id: str) -> str:
        try:
            return self._catalog.get(product_id).name
        except NotFound:
            return product_id


def _zero(names: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(names, 0)


def _add(into: dict[str, int], figures: dict[str, int]) -> None:
    for name in into:
        into[name] += figures.get(name, 0)


def _with_net(values: dict[str, int]) -> dict[str, int]:
    net = values["gross_cents"] - values["refunded_cents"] - values["disputed_cents"]
    fields = {**values, "net_cents": net}
    names = DAY_FIELDS if "tax_cents" in values else (*OTHER_FIGURES, "net_cents")
    return {name: fields[name] for name in names}


def displayed(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the dashboard shows it: beside every `*_cents` amount the same as text in
    its currency's own exponent (`gross_cents` 1500 and `gross` "¥1,500" in JPY), and the chart's
    `axis`."""
    currency = report["currency"]
    for row in [*report["days"], report["totals"], *report["products"]]:
        row.update(amounts_as_text(row, currency))
    for row in report.get("other_currencies", []):
        row.update(amounts_as_text(row, row["currency"]))
    largest = max((day["gross_cents"] for day in report["days"]), default=0)
    report["axis"] = chart_axis(largest, currency)
    return report


def chart_axis(largest_cents: int, currency: str) -> dict[str, Any]:
    """A round top for a chart of amounts up to `largest_cents` (at least 4 whole units of the
    currency) and the labels of its five gridlines: `{"top_cents": 2000, "labels": ["$0", "$5",
    "$10", "$15", "$20"]}`."""
    value = max(largest_cents, 4 * parse_amount("1", currency))
    step = 10 ** (len(str(value)) - 1)
    top = -(-value // step) * step
    labels = [format_amount(round(top * g / 4), currency, whole=True) for g in range(5)]
    return {"top_cents": top, "labels": labels}


def as_csv(report: dict[str, Any]) -> str:
    """The report's days as CSV, headed `date,orders,gross_cents,refunded_cents,net_cents`
    and then `disputed_cents,tax_cents,discount_cents`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in report["days"]:
        writer.writerow([row[column] for column in CSV_HEADER])
    return out.getvalue()
