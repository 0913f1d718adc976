"""The seller's daily summary: one day's figures from `Reports` (the same numbers the dashboard
shows for that day) as a notice: orders, gross, refunded, disputed, net, the top products, and
sales in other currencies apart."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.money import format_amount
from chalicelib.sale.notices import Notice, Table

TOP_PRODUCTS = 5


def last_full_day(now: datetime, timezone: str) -> date:
    """Yesterday in the store's timezone: the last whole day at `now`."""
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def summary_notice(report: dict[str, Any]) -> Notice:
    """The summary of a one-day report (`Reports.sales` of that day)."""
    day, currency, totals = report["from"], report["currency"], report["totals"]
    others = report.get("other_currencies") or []

    def money(cents: int, in_currency: str = currency) -> str:
        return format_amount(int(cents), in_currency)

    if not totals["orders"] and not others and not _moved(totals):
        return Notice(
            subject=f"Daily summary {day}: no sales",
            heading=f"{day}: no sales",
            rows=[("Timezone", report["timezone"])],
            note=f"Nothing was sold, refunded or disputed on {day}.",
        )
    rows = [
        ("Orders", str(totals["orders"])),
        ("Gross", money(totals["gross_cents"])),
        ("Refunded", money(totals["refunded_cents"])),
        ("Disputed (lost)", money(totals["disputed_cents"])),
        ("Net", money(totals["net_cents"])),
        ("Timezone", report["timezone"]),
    ]
    products = Table(
        "Top products",
        ("Product", "Orders", "Gross"),
        [
            (p["name"], str(p["orders"]), money(p["gross_cents"]))
            for p in report["products"][:TOP_PRODUCTS]
            if p["orders"] or p["gross_cents"]
        ],
    )
    tables = [products]
    if others:
        tables.append(
            Table(
                "Other currencies (not in the figures above)",
                ("Currency", "Orders", "Gross", "Refunded", "Net"),
                [
                    (
                        o["currency"].upper(),
                        str(o["orders"]),
                        money(o["gross_cents"], o["currency"]),
                        money(o["refunded_cents"], o["currency"]),
                        money(o["net_cents"], o["currency"]),
                    )
                    for o in others
                ],
            )
        )
    orders = f"{totals['orders']} order{'' if totals['orders'] == 1 else 's'}"
    return Notice(
        subject=f"Daily summary {day}: {orders}, net {money(totals['net_cents'])}",
        heading=f"{day}: {orders}",
        rows=rows,
        tables=tables,
    )


def _moved(totals: dict[str, int]) -> bool:
    return any(totals[k] for k in ("gross_cents", "refunded_cents", "disputed_cents"))
