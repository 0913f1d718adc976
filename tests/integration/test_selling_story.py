"""Issue 13 in Chromium, on a local stack with promotion codes and Stripe Tax on (the stand-in's
fixed 10 % tax, exclusive): the seller adds a pay-what-you-want product from the dashboard; one
buyer pays what they want above the minimum, another takes the demo product free with a 100 %
code, a third pays the demo product with tax. The receipts itemise each, the dashboard's
purchase view and `/reports` show each amount, discount and tax. Against `make run` and `make
rehearse` alike."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import requests

from bull_chalice.local import LocalStack, LocalState
from bull_chalice.processes import free_port
from tests.integration.test_rehearsal import _sign_in

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module", params=["make run", "make rehearse"])
def selling_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalState]:
    workdir = tmp_path_factory.mktemp("selling-stack")
    stack = LocalStack(
        app_port=free_port(),
        moto_port=free_port(),
        stripe_port=free_port(),
        state_dir=workdir,
        rehearse=request.param == "make rehearse",
        selling={"ALLOW_PROMOTION_CODES": "true", "STRIPE_TAX": "true"},
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def _itemised(state: LocalState, email: str) -> dict[str, str]:
    """The itemised lines of the receipt mailed to `email` (its HTML part, in moto's SES)."""
    data = requests.get(f"{state.moto_url}/moto-api/data.json", timeout=10).json()
    for message in data.get("ses", {}).get("Message") or []:
        if email in (message.get("destinations") or {}).get("ToAddresses", []):
            return dict(re.findall(r'<span id="([a-z]+)">([^<]*)</span>', message["body"]))
    raise AssertionError(f"no receipt for {email}")


def _checkout(page, state: LocalState, product_id: str, email: str, amount: str | None = None):
    page.goto(f"{state.api_url}/")
    card = page.locator(f'[data-product-id="{product_id}"]')
    if amount is not None:
        card.locator('input[name="amount"]').fill(amount)
    card.locator('input[name="email"]').fill(email)
    card.locator("button", has_text="Buy").click()
    page.wait_for_url(f"{state.stripe_api_url}/pay/**")
    return re.search(r"/pay/(cs_\w+)", page.url).group(1)


def _pay(page, state: LocalState) -> None:
    page.click("#pay-button")
    page.wait_for_url(f"{state.api_url}/thanks?session_id=*")


def test_pay_what_you_want_a_free_code_and_tax(selling_stack, browser, tmp_path):
    state = selling_stack
    tag = uuid.uuid4().hex[:6]
    admin = browser.new_page(viewport={"width": 1280, "height": 1000})
    admin.goto(f"{state.api_url}/admin")
    admin.fill("#signin-email", state.admin_email)
    admin.fill("#signin-password", state.admin_password)
    admin.click("#signin-button")
    admin.wait_for_selector("#products tr")

    # The seller adds a pay-what-you-want zine: from $5.00, $10.00 suggested.
    zine = tmp_path / "zine.pdf"
    zine.write_bytes(b"%PDF-1.4 zine")
    admin.click("#add-product summary")
    admin.fill("#product-name", f"Zine {tag}")
    admin.fill("#product-price", "10.00")
    admin.fill("#product-min-price", "5.00")
    admin.set_input_files("#product-file", str(zine))
    admin.click("#product-button")
    admin.wait_for_function(
        "() => document.querySelector('#product-status').innerText.includes('is on sale')"
    )
    assert "$5.00+ (suggested $10.00)" in admin.inner_text("#products")
    products = requests.get(f"{state.api_url}/products", timeout=30).json()["products"]
    [added] = [p for p in products if p["name"] == f"Zine {tag}"]
    assert (added["price_cents"], added["min_price_cents"]) == (1000, 500)

    buyer = browser.new_page(viewport={"width": 390, "height": 844})
    # 1. Below the minimum is refused by the store, before Stripe; then $12.00 is taken.
    buyer.goto(f"{state.api_url}/")
    card = buyer.locator(f'[data-product-id="{added["id"]}"]')
    assert card.locator('input[name="amount"]').input_value() == "10.00"
    card.locator('input[name="amount"]').fill("4.99")
    card.locator("button", has_text="Buy").click()
    assert "The least you can pay is $5.00." in buyer.inner_text("#message")
    generous = f"generous-{tag}@example.com"
    _checkout(buyer, state, added["id"], generous, "12.00")
    assert buyer.inner_text("#subtotal") == "$12.00" and buyer.inner_text("#tax") == "$1.20"
    assert buyer.inner_text("#total") == "$13.20"
    _pay(buyer, state)

    # 2. The demo product, free with FREE100: no payment, fulfilled once.
    free = f"free-{tag}@example.com"
    _checkout(buyer, state, state.demo_product_id, free)
    buyer.fill("#promotion-code", "FREE100")
    buyer.click("#apply-code")
    buyer.wait_for_selector("#discount")
    assert buyer.inner_text("#discount") == "-$19.99" and buyer.inner_text("#total") == "$0.00"
    _pay(buyer, state)
    assert "Go to your download" in buyer.inner_text("main")

    # 3. The demo product at its price, with the stand-in's tax on top.
    taxed = f"taxed-{tag}@example.com"
    _checkout(buyer, state, state.demo_product_id, taxed)
    assert buyer.inner_text("#tax") == "$2.00" and buyer.inner_text("#total") == "$21.99"
    _pay(buyer, state)

    # The receipts itemise each.
    assert _itemised(state, generous) == {"subtotal": "$12.00", "tax": "$1.20", "total": "$13.20"}
    assert _itemised(state, free) == {"subtotal": "$19.99", "discount": "-$19.99", "total": "$0.00"}
    assert _itemised(state, taxed) == {"subtotal": "$19.99", "tax": "$2.00", "total": "$21.99"}

    # The dashboard's purchase view shows the amount, discount and tax of each.
    admin.reload()
    for email, shown in (
        (generous, ["$13.20", "Tax\n$1.20"]),
        (free, ["$0.00", "Discount\n$19.99"]),
        (taxed, ["$21.99", "Tax\n$2.00"]),
    ):
        row = admin.locator(f"#purchases tr:has-text('{email}')")
        row.wait_for()
        row.locator("button", has_text="Open").click()
        admin.wait_for_function(
            f"() => document.querySelector('#detail').innerText.includes('{email}')"
        )
        detail = re.sub(r"\s+", "", admin.inner_text("#detail")).lower()  # labels are uppercased
        for text in shown:
            assert re.sub(r"\s+", "", text).lower() in detail, (email, detail)

    # /reports counts them: gross, tax and discount.
    token = _sign_in(state, state.admin_email, state.admin_password)["IdToken"]
    report = requests.get(
        f"{state.api_url}/reports", headers={"Authorization": token}, timeout=30
    ).json()
    totals = report["totals"]
    assert totals["tax_cents"] >= 120 + 200 and totals["discount_cents"] >= 1999
    orders = requests.get(
        f"{state.api_url}/admin/purchases", headers={"Authorization": token}, timeout=30
    ).json()["purchases"]
    mine = {p["email"]: p for p in orders if tag in (p["email"] or "")}
    assert (mine[generous]["amount_cents"], mine[generous]["tax_cents"]) == (1320, 120)
    assert (mine[free]["amount_cents"], mine[free]["discount_cents"]) == (0, 1999)
    assert (mine[taxed]["amount_cents"], mine[taxed]["tax_cents"]) == (2199, 200)
