"""A store that sells in yen, a zero-decimal currency, in Chromium: a product added at 1500
costs ¥1,500 at checkout, and the dashboard shows the sale as ¥1,500 (not ¥15, not ¥150,000)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import requests

from bull_chalice.local import LocalStack, LocalState
from bull_chalice.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
def yen_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalState]:
    workdir = tmp_path_factory.mktemp("yen-stack")
    stack = LocalStack(
        app_port=free_port(),
        moto_port=free_port(),
        stripe_port=free_port(),
        state_dir=workdir,
        store_currency="jpy",
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_a_product_added_at_1500_yen_sells_and_shows_as_1500_yen(yen_stack, browser, tmp_path):
    state = yen_stack
    admin = browser.new_page(viewport={"width": 1280, "height": 1000})
    admin.goto(f"{state.api_url}/admin")
    admin.fill("#signin-email", state.admin_email)
    admin.fill("#signin-password", state.admin_password)
    admin.click("#signin-button")
    admin.wait_for_selector("#products tr")

    # The seller types the price as a yen amount.
    name = f"Yen Book {uuid.uuid4().hex[:4]}"
    book = tmp_path / "yen-book.pdf"
    book.write_bytes(b"%PDF-1.4 yen book")
    admin.click("#add-product summary")
    admin.fill("#product-name", name)
    admin.fill("#product-price", "1500")
    admin.set_input_files("#product-file", str(book))
    admin.click("#product-button")
    admin.wait_for_function(
        "() => document.querySelector('#product-status').innerText.includes('is on sale')"
    )
    products = requests.get(f"{state.api_url}/products", timeout=30).json()["products"]
    [added] = [p for p in products if p["name"] == name]
    assert (added["price_cents"], added["currency"]) == (1500, "jpy")

    # The buyer sees ¥1,500 in the store and pays ¥1,500 at Stripe.
    buyer = browser.new_page(viewport={"width": 390, "height": 844})
    buyer.goto(f"{state.api_url}/")
    card = buyer.locator(f'[data-product-id="{added["id"]}"]')
    assert "¥1,500" in card.inner_text()
    card.locator('input[name="email"]').fill(f"yen-{uuid.uuid4().hex[:6]}@example.com")
    card.locator("button", has_text="Buy").click()
    buyer.wait_for_url(f"{state.stripe_api_url}/pay/**")
    session_id = re.search(r"/pay/(cs_\w+)", buyer.url).group(1)
    session = requests.get(f"{state.stripe_api_url}/v1/checkout/sessions/{session_id}", timeout=10)
    assert (session.json()["amount_total"], session.json()["currency"]) == (1500, "jpy")
    assert "¥1,500" in buyer.inner_text("body")
    buyer.click("#pay-button")
    buyer.wait_for_url(f"{state.api_url}/thanks?session_id=*")
    assert "¥1,500" in buyer.inner_text("main")

    # The seller's dashboard shows the sale as ¥1,500.
    admin.reload()
    row = admin.locator(f'#purchases tr[data-purchase-id="{session_id}"]')
    row.wait_for()
    assert "¥1,500" in row.inner_text()
    assert "¥15" not in row.inner_text().replace("¥1,500", "")
