"""The orders export (`GET /admin/orders`): the orders of a range of store-timezone days, oldest
first, as JSON or CSV, read by key range from the month-partitioned index (never a scan)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from pynamodb.connection.base import Connection

from chalicelib.platform.tables import Purchase
from chalicelib.sale.orders import CSV_HEADER
from tests.helpers import (
    HELPER_EMAIL,
    deliver,
    error_of,
    fresh_store,
    sell,
    stripe_event,
)

HEADER = (
    "date,order_id,email,product_id,product_name,currency,amount_cents,tax_cents,"
    "discount_cents,refunded_cents,disputed_cents,status"
)


def _at(moment: str) -> int:
    return int(datetime.fromisoformat(moment).astimezone(UTC).timestamp())


# Sales around a month's end, seen from Tokyo (UTC+9): the range is 2026-03-31 to 2026-04-01.
SALES = [
    ("cs_before", "2026-03-30T14:30:00+00:00", "paid"),  # 03-30 23:30 in Tokyo: outside
    ("cs_first", "2026-03-30T15:30:00+00:00", "paid"),  # 03-31 00:30: refunded in part
    ("cs_disputed", "2026-03-31T16:00:00+00:00", "paid"),  # 04-01 01:00: a lost chargeback
    ("cs_pending", "2026-04-01T10:00:00+00:00", "unpaid"),  # 04-01 19:00: not paid yet
    ("cs_last", "2026-04-01T14:59:59+00:00", "paid"),  # 04-01 23:59:59
    ("cs_after", "2026-04-01T15:00:00+00:00", "paid"),  # 04-02 00:00: outside
]
IN_RANGE = ["cs_first", "cs_disputed", "cs_pending", "cs_last"]


@pytest.fixture
def tokyo(env, monkeypatch, clock):
    monkeypatch.setenv("REPORT_TIMEZONE", "Asia/Tokyo")
    fresh_store(clock)


@pytest.fixture
def orders(tokyo, client, product, admin):
    for n, (session, moment, status) in enumerate(SALES):
        sell(
            client,
            product.id,
            session_id=session,
            payment_intent=f"pi_{session}",
            email=f"buyer{n}@example.test",
            payment_status=status,
            created=_at(moment),
        )
    refund = {
        "id": "ch_first",
        "object": "charge",
        "payment_intent": "pi_cs_first",
        "amount": 1999,
        "amount_refunded": 500,
        "refunded": False,
        "currency": "usd",
    }
    _send(client, "charge.refunded", refund, "2026-04-03T09:00:00+00:00")
    chargeback = {
        "id": "dp_1",
        "object": "dispute",
        "payment_intent": "pi_cs_disputed",
        "charge": "ch_disputed",
        "amount": 1999,
        "currency": "usd",
        "status": "needs_response",
        "reason": "fraudulent",
    }
    _send(client, "charge.dispute.created", chargeback, "2026-04-04T09:00:00+00:00")
    lost = {**chargeback, "status": "lost"}
    _send(client, "charge.dispute.closed", lost, "2026-04-20T09:00:00+00:00")
    return admin


def _send(client, kind: str, obj: dict, moment: str) -> None:
    answer = deliver(client, stripe_event(kind, obj, created=_at(moment)))
    assert answer.status_code == 200, answer.body


def _get(client, headers, query: str):
    return client.http.get(f"/admin/orders?{query}", headers=headers)


def test_the_csv_matches_the_purchases_field_by_field(client, orders):
    answer = _get(client, orders, "from=2026-03-31&to=2026-04-01&format=csv")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="orders-2026-03-31-2026-04-01.csv"' in answer.headers["Content-Disposition"]
    assert answer.headers["Cache-Control"] == "no-store"
    text = answer.body.decode()
    assert text.splitlines()[0] == HEADER == ",".join(CSV_HEADER)
    found = list(csv.DictReader(io.StringIO(text)))
    assert [row["order_id"] for row in found] == IN_RANGE  # oldest first
    days = {"cs_first": "2026-03-31", "cs_disputed": "2026-04-01"}
    for row in found:
        p = Purchase.get(row["order_id"])
        assert row == {
            "date": days.get(p.session_id, "2026-04-01"),
            "order_id": p.session_id,
            "email": p.email,
            "product_id": p.product_id,
            "product_name": p.product_name,
            "currency": p.currency,
            "amount_cents": str(int(p.amount_cents)),
            "tax_cents": str(int(p.tax_cents)),
            "discount_cents": str(int(p.discount_cents)),
            "refunded_cents": str(int(p.refunded_cents)),
            "disputed_cents": str(int(p.disputed_cents)),
            "status": p.status,
        }
    by_id = {row["order_id"]: row for row in found}
    assert by_id["cs_first"]["refunded_cents"] == "500"
    assert by_id["cs_first"]["status"] == "paid"
    assert by_id["cs_disputed"]["disputed_cents"] == "1999"
    assert by_id["cs_pending"]["status"] == "pending"


def test_json_lists_the_same_orders(client, orders):
    answer = _get(client, orders, "from=2026-03-31&to=2026-04-01")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = json.loads(answer.body)
    assert [o["order_id"] for o in body["orders"]] == IN_RANGE
    assert set(body["orders"][0]) == set(CSV_HEADER)
    assert isinstance(body["orders"][0]["amount_cents"], int)
    as_csv = _get(client, {**orders, "Accept": "text/csv"}, "from=2026-03-31&to=2026-04-01")
    assert as_csv.body.decode().startswith(HEADER)


def test_one_day_and_an_empty_range(client, orders):
    one = json.loads(_get(client, orders, "from=2026-03-31&to=2026-03-31").body)
    assert [o["order_id"] for o in one["orders"]] == ["cs_first"]
    empty = _get(client, orders, "from=2025-01-01&to=2025-01-31&format=csv")
    assert empty.body.decode().splitlines() == [HEADER]


def test_it_reads_by_key_range_never_a_scan(client, orders, monkeypatch):
    calls = []
    real = Connection._make_api_call

    def counting(conn, operation, kwargs):
        calls.append((operation, kwargs.get("IndexName")))
        return real(conn, operation, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    assert _get(client, orders, "from=2026-03-31&to=2026-04-01").status_code == 200
    reads = [c for c in calls if c[0] in ("Query", "Scan")]
    # the two UTC months the range touches, one query each
    assert reads == [("Query", "recent-index"), ("Query", "recent-index")]


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-01&to=2026-12-31",
        "from=2026-04-02&to=2026-04-01",
        "from=1999-12-31&to=2026-04-01",
        "from=2026-03-31&to=2026-04-01&format=xml",
    ],
)
def test_bad_ranges_are_refused_as_reports_refuse_them(client, admin, query):
    answer = _get(client, admin, query)
    assert answer.status_code == 400
    assert error_of(answer)["code"] in ("bad_date", "bad_range", "bad_request")


def test_only_admins(client, pool):
    nobody = client.http.get("/admin/orders?from=2026-03-31&to=2026-04-01")
    assert nobody.status_code == 401
    assert error_of(nobody)["code"] == "unauthorized"
    helper = _get(client, pool.headers(HELPER_EMAIL), "from=2026-03-31&to=2026-04-01")
    assert helper.status_code == 403
    assert error_of(helper)["code"] == "not_admin"


def _pages(client, headers, query: str) -> list[dict]:
    pages, cursor = [], None
    while True:
        asked = query + (f"&cursor={cursor}" if cursor else "")
        answer = _get(client, headers, asked)
        assert answer.status_code == 200, answer.body
        pages.append(json.loads(answer.body))
        cursor = pages[-1]["next"]
        if cursor is None:
            return pages


def test_a_range_of_any_length_comes_in_pages_that_hold_every_order_once(
    client, orders, monkeypatch
):
    monkeypatch.setattr("chalicelib.sale.orders.PAGE_SIZE", 2)
    pages = _pages(client, orders, "from=2026-03-31&to=2026-04-01")
    assert [o["order_id"] for p in pages for o in p["orders"]] == IN_RANGE
    assert all(len(p["orders"]) <= 2 for p in pages) and len(pages) >= 2

    years = _pages(client, orders, "from=2016-04-01&to=2026-12-31")  # ten years and more
    found = [o["order_id"] for p in years for o in p["orders"]]
    assert found == [session for session, _, _ in SALES]


def test_csv_pages_point_to_the_next_and_each_has_the_header(client, orders, monkeypatch):
    monkeypatch.setattr("chalicelib.sale.orders.PAGE_SIZE", 3)
    first = _get(client, orders, "from=2026-03-31&to=2026-04-01&format=csv")
    cursor = first.headers["X-Next-Cursor"]
    second = _get(client, orders, f"from=2026-03-31&to=2026-04-01&format=csv&cursor={cursor}")
    assert "X-Next-Cursor" not in second.headers
    rows = [list(csv.DictReader(io.StringIO(a.body.decode()))) for a in (first, second)]
    assert [r["order_id"] for page in rows for r in page] == IN_RANGE
    assert second.body.decode().splitlines()[0] == HEADER


@pytest.mark.parametrize(
    "cursor",
    ["nonsense", "e30", "eyJyYW5nZSI6WyIyMDI2LTAxLTAxIiwiMjAyNi0wMS0wMiJdfQ"],
    ids=["not base64 json", "an empty object", "another range's"],
)
def test_a_cursor_this_export_did_not_give_is_400(client, orders, cursor):
    answer = _get(client, orders, f"from=2026-03-31&to=2026-04-01&cursor={cursor}")
    assert answer.status_code == 400
    assert error_of(answer)["code"] == "bad_cursor"


def test_a_forged_key_in_a_cursor_is_400_not_a_dynamodb_error(client, orders):
    import base64

    forged = {
        "range": ["2026-03-31", "2026-04-01"],
        "month": "2026-04",
        "key": {"session_id": {"N": "1"}, "sale_month": {"S": "2026-04"}, "created_at": {"S": ""}},
    }
    cursor = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
    answer = _get(client, orders, f"from=2026-03-31&to=2026-04-01&cursor={cursor}")
    assert answer.status_code == 400 and error_of(answer)["code"] == "bad_cursor"


def test_a_sparse_range_is_read_a_few_months_a_page_and_nothing_is_missed(
    client, orders, monkeypatch
):
    monkeypatch.setattr("chalicelib.sale.orders.MONTHS_A_PAGE", 2)
    pages = _pages(client, orders, "from=2025-10-01&to=2026-04-30")  # seven months
    assert len(pages) == 4 and [p["orders"] for p in pages[:2]] == [[], []]
    assert [o["order_id"] for p in pages for o in p["orders"]] == [s for s, _, _ in SALES]


def test_a_cursor_whose_key_lies_outside_the_range_is_400(client, orders):
    import base64

    outside = {
        "range": ["2026-03-31", "2026-04-01"],
        "month": "2026-04",
        "key": {
            "session_id": {"S": "cs_after"},
            "sale_month": {"S": "2026-04"},
            "created_at": {"S": "2026-04-20T00:00:00.000000+0000"},
        },
    }
    cursor = base64.urlsafe_b64encode(json.dumps(outside).encode()).decode().rstrip("=")
    answer = _get(client, orders, f"from=2026-03-31&to=2026-04-01&cursor={cursor}")
    assert answer.status_code == 400 and error_of(answer)["code"] == "bad_cursor"
