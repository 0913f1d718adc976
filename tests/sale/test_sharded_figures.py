"""Sharded daily figures: sales spread over a day's shards, and reports count every one of
them, and the unsharded items stores kept from before, exactly."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from chalicelib import store
from chalicelib.platform.tables import DailySales
from tests.helpers import charge, deliver, fresh_store, rows, sell, stripe_event

DAY = "2026-11-24"


def _epoch(hhmm: str = "12:00") -> int:
    return int(datetime.fromisoformat(f"{DAY}T{hhmm}:00+00:00").timestamp())


def _sell(client, product_id: str, n: int, **session) -> None:
    sell(
        client,
        product_id,
        session_id=f"cs_test_{n:03d}",
        payment_intent=f"pi_{n:03d}",
        created=_epoch(),
        **session,
    )


def _report(client, admin) -> dict:
    response = client.http.get(f"/reports?from={DAY}&to={DAY}", headers=admin)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def test_a_days_sales_spread_over_its_shards_and_the_report_counts_them_all(client, product, admin):
    for n in range(40):
        _sell(client, product.id, n)

    items = rows(DailySales)
    assert 8 <= len(items) <= 16  # 40 sales over 16 shards land in most of them
    assert all(item.day_product.startswith(f"{DAY}#{product.id}#s") for item in items)
    report = _report(client, admin)
    assert (report["totals"]["orders"], report["totals"]["gross_cents"]) == (40, 40 * 1999)
    assert report["products"][0]["orders"] == 40


def test_figures_written_before_sharding_still_count_beside_the_shards(client, product, admin):
    # A kept table from an older version: one unsharded item for the day.
    DailySales("2026-11", f"{DAY}#{product.id}", orders=3, gross_cents=3 * 1999).save()
    _sell(client, product.id, 1)

    report = _report(client, admin)
    assert (report["totals"]["orders"], report["totals"]["gross_cents"]) == (4, 4 * 1999)
    assert report["products"] == [
        {**report["products"][0], "id": product.id, "orders": 4, "gross_cents": 4 * 1999}
    ]


def test_refunds_and_other_currencies_stay_exact_across_shards(client, product, admin):
    for n in range(6):
        _sell(client, product.id, n)
    for n in range(6, 9):
        _sell(client, product.id, n, currency="eur", amount=1500)
    refund = charge(1000, amount=1999, intent="pi_002", charge_id="ch_002")
    payload = stripe_event("charge.refunded", refund, created=_epoch("15:00"))
    assert deliver(client, payload).status_code == 200

    report = _report(client, admin)
    totals = report["totals"]
    assert (totals["orders"], totals["gross_cents"], totals["refunded_cents"]) == (
        6,
        6 * 1999,
        1000,
    )
    assert totals["net_cents"] == 6 * 1999 - 1000
    [eur] = report["other_currencies"]
    assert (eur["currency"], eur["orders"], eur["gross_cents"]) == ("eur", 3, 4500)


@pytest.fixture
def one_shard(client, monkeypatch, clock):
    monkeypatch.setenv("SALES_SHARDS", "1")
    fresh_store(clock)
    assert store.current().settings.sales_shards == 1


def test_one_shard_writes_the_single_item_per_product_and_day_as_before(
    one_shard, client, product, admin
):
    for n in range(3):
        _sell(client, product.id, n)

    assert [(i.day_product, i.orders) for i in rows(DailySales)] == [(f"{DAY}#{product.id}", 3)]
    assert _report(client, admin)["totals"]["orders"] == 3
