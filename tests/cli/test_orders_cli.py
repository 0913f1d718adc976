"""`bull orders --from --to`: signs in like `bull report` and writes the orders CSV, read over
HTTP from the app served on 127.0.0.1 in this process (moto's Cognito, no stand-ins)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import requests

from chalicelib.sale.orders import CSV_HEADER
from tests.cli import test_signin
from tests.cli.test_signin import bull, one_line_failure
from tests.helpers import ADMIN_EMAIL, HELPER_EMAIL, SELLER_PASSWORD, completed, signed_headers

DAY = "2026-03-10"
stage, store_url = test_signin.stage, test_signin.store_url  # the same fixtures


def _sell(url: str, product_id: str, session_id: str, hhmm: str) -> None:
    created = int(datetime.fromisoformat(f"{DAY}T{hhmm}:00+00:00").astimezone(UTC).timestamp())
    payload = completed(
        product_id, session_id=session_id, payment_intent=f"pi_{session_id}", created=created
    )
    answer = requests.post(f"{url}/webhooks/stripe", data=payload, headers=signed_headers(payload))
    assert answer.status_code == 200, answer.text


def orders(*extra: str, email: str = ADMIN_EMAIL):
    return bull(
        "orders", "--stage", "dev", "--from", DAY, "--to", DAY,
        "--email", email, "--password", SELLER_PASSWORD, *extra,
    )  # fmt: skip


def test_bull_orders_writes_the_csv(stage, store_url, product, tmp_path, monkeypatch):
    _sell(store_url, product.id, "cs_test_late", "18:00")
    _sell(store_url, product.id, "cs_test_early", "09:00")
    monkeypatch.chdir(tmp_path)
    result = orders()
    assert result.exit_code == 0, result.output
    written = tmp_path / f"orders-{DAY}-{DAY}.csv"
    assert "Wrote 2 orders" in result.stderr and written.name in result.stderr
    found = list(csv.DictReader(io.StringIO(written.read_text())))
    assert tuple(found[0]) == CSV_HEADER
    assert [r["order_id"] for r in found] == ["cs_test_early", "cs_test_late"]
    assert {r["amount_cents"] for r in found} == {"1999"}

    printed = orders("--out", "-")
    assert printed.exit_code == 0 and printed.stdout == written.read_text()


def test_bull_orders_refused_for_a_non_admin_is_one_line(stage, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line_failure(orders(email=HELPER_EMAIL), "orders refused (403)")
    assert not list(tmp_path.glob("*.csv"))


def test_bull_orders_joins_the_pages_of_a_long_range_under_one_header(
    stage, store_url, product, tmp_path, monkeypatch
):
    monkeypatch.setattr("chalicelib.sale.orders.PAGE_SIZE", 2)
    for n, hhmm in enumerate(("09:00", "10:00", "11:00", "12:00", "13:00")):
        _sell(store_url, product.id, f"cs_test_{n}", hhmm)
    monkeypatch.chdir(tmp_path)
    result = bull(
        "orders", "--stage", "dev", "--from", "2020-01-01", "--to", "2026-12-31", "--out", "-",
        "--email", ADMIN_EMAIL, "--password", SELLER_PASSWORD,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines.count(",".join(CSV_HEADER)) == 1
    found = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["order_id"] for r in found] == [f"cs_test_{n}" for n in range(5)]
