"""Reports: a 90-day report with 100,000 purchases stored vs with 1,000 (same run)."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, date, datetime, timedelta

from bench.common import bench_env, moto_server, report, use_env


def _fill_rollups(days: int, products: list[str]) -> None:
    from chalicelib.platform.tables import DailySales

    start = date(2026, 1, 1)
    with DailySales.batch_write() as batch:
        for n in range(days):
            day = (start + timedelta(days=n)).isoformat()
            for product_id in products:
                batch.save(
                    DailySales(
                        day[:7],
                        f"{day}#{product_id}",
                        orders=3,
                        gross_cents=5997,
                        refunded_cents=0,
                        currency="usd",
                    )
                )


def _add_purchases(first: int, count: int) -> None:
    from chalicelib.platform.tables import Purchase

    sold = datetime(2026, 2, 1, tzinfo=UTC)
    with Purchase.batch_write() as batch:
        for n in range(first, first + count):
            batch.save(
                Purchase(
                    f"cs_bench_{n:07d}",
                    product_id="prod_bench00000001",
                    product_name="Bench",
                    amount_cents=1999,
                    currency="usd",
                    email=f"b{n}@example.com",
                    payment_intent=f"pi_{n}",
                    status="paid",
                    created_at=sold,
                    sale_month="2026-02",
                )
            )


def _time_report(reports, days, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        reports.sales(days)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(small: int = 1_000, large: int = 100_000, rounds: int = 30) -> None:
    with moto_server() as moto_url:
        use_env(bench_env(moto_url))
        from bull_chalice import resources
        from chalicelib import store
        from chalicelib.platform import config
        from chalicelib.sale.figures import DateRange

        resources.create_tables(config.get_settings())
        products = [f"prod_bench{n:08d}" for n in range(3)]
        _fill_rollups(120, products)
        reports = store.current().reports
        days = DateRange(date(2026, 1, 10), date(2026, 4, 9))  # 90 days, 4 months
        _add_purchases(0, small)
        with_small = _time_report(reports, days, rounds)
        started = time.perf_counter()
        _add_purchases(small, large - small)
        filled = time.perf_counter() - started
        with_large = _time_report(reports, days, rounds)
        with_small_again = _time_report(reports, days, rounds)
        baseline = statistics.mean([with_small, with_small_again])
        report(
            f"90-day report: {large:,} vs {small:,} purchases",
            with_large / baseline,
            1.2,
            f"{with_large * 1000:.1f} ms vs {baseline * 1000:.1f} ms "
            f"(stored {large - small:,} more in {filled:.0f} s)",
        )
