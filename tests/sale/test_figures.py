"""Sales reports: per day with zero days, totals, refunds, CSV, the store timezone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from bull_chalice import resources
from chalicelib import store
from chalicelib.platform.tables import Purchase
from chalicelib.sale.figures import chart_axis
from tests.helpers import (
    charge,
    checkout_session,
    deliver,
    error_of,
    fresh_store,
    sell,
    stripe_event,
)


def _epoch(day: str, hhmm: str = "12:00") -> int:
    return int(datetime.fromisoformat(f"{day}T{hhmm}:00+00:00").timestamp())


def _sell(client, product_id, session, amount, day, hhmm="12:00"):
    sell(
        client,
        product_id,
        session_id=session,
        amount=amount,
        payment_intent=f"pi_{session}",
        created=_epoch(day, hhmm),
    )


def _refund(client, intent, amount, refunded_cents, day):
    refund = charge(refunded_cents, amount=amount, intent=intent, charge_id=f"ch_{intent}")
    payload = stripe_event("charge.refunded", refund, created=_epoch(day, "15:00"))
    assert deliver(client, payload).status_code == 200


@pytest.fixture
def sales(client, product, admin):
    """19.99 on 2026-11-02, 5.00 on 2026-11-05, and the 19.99 fully refunded on 2026-11-06."""
    cheap = resources.add_product(
        store.current().catalog,
        boto3.client("s3", region_name="us-east-1"),
        store.current().settings,
        name="Sticker pack",
        price_cents=500,
        filename="stickers.zip",
        content=b"zip",
    )
    _sell(client, product.id, "cs_test_big", 1999, "2026-11-02")
    _sell(client, cheap.id, "cs_test_small", 500, "2026-11-05")
    _refund(client, "pi_cs_test_big", 1999, 1999, "2026-11-06")
    return product, cheap


# Disputes lost, tax and discounts: none in these sales.
ZERO_NEW_FIELDS = {
    "disputed_cents": 0,
    "tax_cents": 0,
    "discount_cents": 0,
    "disputed": "$0.00",
    "tax": "$0.00",
    "discount": "$0.00",
}


def _report(client, admin, query):
    response = client.http.get(f"/reports?{query}", headers=admin)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def test_thirty_day_report_shows_each_sale_and_the_refund_on_its_day(client, admin, sales):
    report = _report(client, admin, "from=2026-10-15&to=2026-11-13")
    days = {d["date"]: d for d in report["days"]}
    assert len(report["days"]) == 30
    assert days["2026-11-02"] == {
        "date": "2026-11-02",
        "orders": 1,
        "gross_cents": 1999,
        "refunded_cents": 0,
        "net_cents": 1999,
        "gross": "$19.99",
        "refunded": "$0.00",
        **ZERO_NEW_FIELDS,
        "net": "$19.99",
    }
    assert days["2026-11-05"] == {
        "date": "2026-11-05",
        "orders": 1,
        "gross_cents": 500,
        "refunded_cents": 0,
        "net_cents": 500,
        "gross": "$5.00",
        "refunded": "$0.00",
        **ZERO_NEW_FIELDS,
        "net": "$5.00",
    }
    assert days["2026-11-06"] == {
        "date": "2026-11-06",
        "orders": 0,
        "gross_cents": 0,
        "refunded_cents": 1999,
        "net_cents": -1999,
        "gross": "$0.00",
        "refunded": "$19.99",
        **ZERO_NEW_FIELDS,
        "net": "-$19.99",
    }
    quiet = [
        d for d in report["days"] if d["date"] not in ("2026-11-02", "2026-11-05", "2026-11-06")
    ]
    assert all(d["orders"] == d["gross_cents"] == d["refunded_cents"] == 0 for d in quiet)
    assert report["totals"] == {
        "orders": 2,
        "gross_cents": 2499,
        "refunded_cents": 1999,
        "net_cents": 500,
        "gross": "$24.99",
        "refunded": "$19.99",
        **ZERO_NEW_FIELDS,
        "net": "$5.00",
    }
    assert report["currency"] == "usd" and report["timezone"] == "UTC"
    assert report["other_currencies"] == []


def test_report_lists_sales_per_product(client, admin, sales):
    big, cheap = sales
    report = _report(client, admin, "from=2026-11-01&to=2026-11-30")
    assert report["products"] == [
        {
            "id": big.id,
            "name": "The Bull Handbook",
            "orders": 1,
            "gross_cents": 1999,
            "gross": "$19.99",
        },
        {"id": cheap.id, "name": "Sticker pack", "orders": 1, "gross_cents": 500, "gross": "$5.00"},
    ]


def test_csv_report_has_the_same_figures(client, admin, sales):
    response = client.http.get("/reports?from=2026-11-01&to=2026-11-07&format=csv", headers=admin)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = response.body.decode().splitlines()
    assert lines[0] == (
        "date,orders,gross_cents,refunded_cents,net_cents,disputed_cents,tax_cents,discount_cents"
    )
    assert len(lines) == 8
    assert "2026-11-02,1,1999,0,1999,0,0,0" in lines
    assert "2026-11-05,1,500,0,500,0,0,0" in lines
    assert "2026-11-06,0,0,1999,-1999,0,0,0" in lines
    assert "2026-11-07,0,0,0,0,0,0,0" in lines


def test_accept_text_csv_also_gives_csv(client, admin, sales):
    response = client.http.get(
        "/reports?from=2026-11-01&to=2026-11-02", headers={**admin, "Accept": "text/csv"}
    )
    assert response.body.decode().splitlines()[-1] == "2026-11-02,1,1999,0,1999,0,0,0"


def test_default_report_is_the_last_thirty_days_ending_today(client, admin, aws):
    report = _report(client, admin, "")
    today = datetime.now(UTC).date()
    assert report["to"] == today.isoformat()
    assert report["from"] == (today - timedelta(days=29)).isoformat()


def test_report_spanning_a_year_boundary_reads_every_month(client, product, admin):
    _sell(client, product.id, "cs_test_dec", 1999, "2025-12-31")
    _sell(client, product.id, "cs_test_jan", 1999, "2026-01-01")
    report = _report(client, admin, "from=2025-12-01&to=2026-01-31")
    assert report["totals"]["orders"] == 2 and len(report["days"]) == 62


@pytest.mark.parametrize(
    ("query", "code", "reason"),
    [
        ("from=2026-13-01", "bad_date", "from must be a date like"),
        ("from=yesterday", "bad_date", "from must be a date like"),
        ("to=2026-02-30", "bad_date", "to must be a date like"),
        ("from=2026-11-10&to=2026-11-01", "bad_range", "from must not be after to"),
        ("from=2025-01-01&to=2026-01-03", "bad_range", "a report covers at most 366 days"),
        ("format=xml", "bad_request", "format must be json or csv"),
        ("to=9999-12-31", "bad_date", "to must fall between"),
        ("from=0001-01-05&to=0001-01-06", "bad_date", "to must fall between"),
    ],
    ids=["month-13", "word", "feb-30", "reversed", "over-366-days", "bad-format", "max", "min"],
)
def test_bad_report_query_is_400_with_the_reason(client, admin, aws, query, code, reason):
    response = client.http.get(f"/reports?{query}", headers=admin)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code and error["message"].startswith(reason), error


def test_sale_at_2330_utc_lands_on_the_next_day_in_tokyo(
    client, product, admin, monkeypatch, clock
):
    monkeypatch.setenv("REPORT_TIMEZONE", "Asia/Tokyo")
    fresh_store(clock)
    _sell(client, product.id, "cs_test_late", 1999, "2026-11-02", "23:30")
    report = _report(client, admin, "from=2026-11-02&to=2026-11-03")
    assert report["timezone"] == "Asia/Tokyo"
    assert [(d["date"], d["orders"]) for d in report["days"]] == [
        ("2026-11-02", 0),
        ("2026-11-03", 1),
    ]


def test_chart_axis_is_round_and_never_flat():
    assert chart_axis(0, "usd") == {"top_cents": 400, "labels": ["$0", "$1", "$2", "$3", "$4"]}
    assert chart_axis(123_456, "usd")["top_cents"] == 200_000


# -- currencies, tax and discount (issue 11) --------------------------------------------------


def _sell_session(client, product_id, session, day, **fields):
    """A paid session of `product_id` with more of Stripe's fields (currency, conversion, tax)."""
    obj = {
        **checkout_session(
            session_id=session, product_id=product_id, payment_intent=f"pi_{session}"
        ),
        **fields,
    }
    payload = stripe_event("checkout.session.completed", obj, created=_epoch(day))
    assert deliver(client, payload).status_code == 200


def _refund_in(client, intent, amount, refunded_cents, currency, day):
    refund = charge(refunded_cents, amount=amount, intent=intent, charge_id=f"ch_{intent}")
    refund["currency"] = currency
    payload = stripe_event("charge.refunded", refund, created=_epoch(day, "15:00"))
    assert deliver(client, payload).status_code == 200


CONVERTED = {
    "currency": "eur",
    "amount_total": 1850,
    "amount_subtotal": 1850,
    "currency_conversion": {
        "amount_subtotal": 1999,
        "amount_total": 1999,
        "fx_rate": "0.925",
        "source_currency": "usd",
    },
}


def test_a_converted_sale_counts_in_the_store_currency(client, product, admin):
    """Before: a session paid in EUR (legacy Adaptive Pricing from USD) was added, in euro
    cents, to the USD report."""
    _sell_session(client, product.id, "cs_test_eur", "2026-11-02", **CONVERTED)
    purchase = Purchase.get("cs_test_eur")
    assert (purchase.amount_cents, purchase.currency) == (1999, "usd")
    assert (purchase.charged_cents, purchase.charged_currency) == (1850, "eur")
    # Refunds arrive in the charge's currency: half the euros is half the dollars.
    _refund_in(client, "pi_cs_test_eur", 1850, 925, "eur", "2026-11-03")
    report = _report(client, admin, "from=2026-11-02&to=2026-11-03")
    days = {d["date"]: d for d in report["days"]}
    assert (days["2026-11-02"]["gross_cents"], days["2026-11-02"]["gross"]) == (1999, "$19.99")
    assert days["2026-11-03"]["refunded_cents"] == 1000
    assert report["other_currencies"] == []


def test_a_sale_in_another_currency_is_reported_apart(client, product, admin):
    _sell(client, product.id, "cs_test_usd", 1999, "2026-11-02")
    _sell_session(
        client, product.id, "cs_test_eur", "2026-11-02", currency="eur", amount_total=1850
    )
    _refund_in(client, "pi_cs_test_eur", 1850, 850, "eur", "2026-11-02")
    report = _report(client, admin, "from=2026-11-02&to=2026-11-02")
    assert report["totals"]["gross_cents"] == 1999 and report["totals"]["refunded_cents"] == 0
    assert report["products"][0]["gross_cents"] == 1999
    assert report["other_currencies"] == [
        {
            "currency": "eur",
            "orders": 1,
            "gross_cents": 1850,
            "refunded_cents": 850,
            "disputed_cents": 0,
            "net_cents": 1000,
            "gross": "€18.50",
            "refunded": "€8.50",
            "disputed": "€0.00",
            "net": "€10.00",
        }
    ]


def test_tax_and_discount_are_recorded_and_reported(client, product, admin):
    details = {"amount_tax": 150, "amount_discount": 350, "amount_shipping": 0}
    _sell_session(
        client, product.id, "cs_test_tax", "2026-11-02", amount_subtotal=2199, total_details=details
    )
    purchase = Purchase.get("cs_test_tax")
    assert (purchase.subtotal_cents, purchase.tax_cents, purchase.discount_cents) == (
        2199,
        150,
        350,
    )
    report = _report(client, admin, "from=2026-11-02&to=2026-11-02")
    assert {k: report["totals"][k] for k in ("tax_cents", "discount_cents", "tax", "discount")} == {
        "tax_cents": 150,
        "discount_cents": 350,
        "tax": "$1.50",
        "discount": "$3.50",
    }
    csv = client.http.get("/reports?from=2026-11-02&to=2026-11-02&format=csv", headers=admin)
    assert csv.body.decode().splitlines()[-1] == "2026-11-02,1,1999,0,1999,0,150,350"
    shown = client.http.get("/admin/purchases/cs_test_tax", headers=admin)
    view = json.loads(shown.body)["purchase"]
    assert (view["tax"], view["discount"], view["subtotal"]) == ("$1.50", "$3.50", "$21.99")
