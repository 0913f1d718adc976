"""The dashboard's "Download orders" button, in headless Chromium against the local stack (both
shapes): the admin downloads the orders of the range shown as the contract's CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.browser]

HEADER = (
    "date,order_id,email,product_id,product_name,currency,amount_cents,tax_cents,"
    "discount_cents,refunded_cents,disputed_cents,status"
)


def test_the_dashboard_downloads_the_orders_of_its_range(stack, buyer, browser, tmp_path):
    email = f"books-{uuid.uuid4().hex[:8]}@example.com"
    session_id = buyer.buy(email)
    buyer.receipt_for(email)
    today = datetime.now(UTC).date().isoformat()  # the local stack's store timezone is UTC

    admin = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 1000})
    admin.goto(f"{stack.api_url}/admin")
    admin.fill("#signin-email", stack.admin_email)
    admin.fill("#signin-password", stack.admin_password)
    admin.click("#signin-button")
    admin.wait_for_selector("#orders-button", state="visible")
    admin.fill("#range-from", today)
    admin.fill("#range-to", today)
    with admin.expect_download() as download_info:
        admin.click("#orders-button")
    saved = tmp_path / "orders.csv"
    download_info.value.save_as(saved)
    assert download_info.value.suggested_filename == "orders.csv"
    text = saved.read_text()
    assert text.splitlines()[0] == HEADER
    rows = {row["order_id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows[session_id]["email"] == email
    assert rows[session_id]["status"] == "paid" and rows[session_id]["date"] == today
    admin.close()
