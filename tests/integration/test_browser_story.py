"""The whole story in headless Chromium against the local stack: buy, pay, open the emailed
link, download; an admin signs in, sees the sale, refunds it; the link then answers 410."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import requests

from bull_chalice.demo import demo_file
from bull_chalice.local import local_client

pytestmark = [pytest.mark.integration, pytest.mark.browser]

DOCS = Path(__file__).resolve().parents[2] / "docs"
# BULL_SCREENSHOT=1: test_dashboard_widths.py refreshes docs/dashboard.png and
# docs/dashboard-phone.png, with _seed_past_sales's weeks of sales.


def _seed_past_sales(stack) -> None:
    """A few weeks of earlier sales, so the documented dashboard shows a shape."""
    import random

    import stripe

    from bench.common import checkout_event

    rng = random.Random(11)
    for day in range(1, 28):
        for n in range(rng.choice([0, 1, 1, 2, 3, 4])):
            session_id = f"cs_seed_{day:02d}_{n}_{uuid.uuid4().hex[:6]}"
            created = int(time.time()) - day * 86400
            body = checkout_event(session_id, stack.demo_product_id, "fan@example.com", created)
            header = stripe.WebhookSignature.generate_signature_header(body, stack.webhook_secret)
            requests.post(
                f"{stack.api_url}/webhooks/stripe",
                data=body.encode(),
                timeout=30,
                headers={"Content-Type": "application/json", "Stripe-Signature": header},
            )


def outside_the_store(stack, urls: list[str]) -> list[str]:
    """The requests that left the store's base URL for anything but the Stripe stand-in's pay
    page and AWS itself (Cognito sign-in, S3's presigned downloads and uploads)."""
    allowed = (f"{stack.api_url}/", f"{stack.stripe_api_url}/pay/", f"{stack.moto_url}/")
    return [u for u in urls if u != stack.api_url and not u.startswith(allowed)]


def _dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def test_buy_download_then_admin_sees_and_refunds_the_sale(stack, buyer, browser, tmp_path):
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))

    # The buyer finds the product, pays on the Stripe stand-in, and lands on the thanks page.
    page.goto(f"{stack.api_url}/")
    card = page.locator(f'[data-product-id="{stack.demo_product_id}"]')
    assert "$19.99" in card.inner_text()
    card.locator('input[name="email"]').fill(email)
    card.locator("button", has_text="Buy").click()
    page.wait_for_url(f"{stack.stripe_api_url}/pay/**")
    page.click("#pay-button")
    page.wait_for_url(f"{stack.api_url}/thanks?session_id=*")
    assert "Thank you" in page.inner_text("h1")

    # The emailed link opens the landing page; Download delivers the exact file.
    link = buyer.receipt_for(email)["link"]
    page.goto(link)
    assert "5 downloads left" in page.inner_text("#downloads-left")
    with page.expect_download() as download_info:
        page.click("#download-button")
    saved = tmp_path / "file.pdf"
    download_info.value.save_as(saved)
    assert saved.read_bytes() == demo_file()
    assert download_info.value.suggested_filename == "bull-demo-guide.pdf"

    # The admin signs in and sees today's sale in the chart and the totals.
    admin = browser.new_page(viewport={"width": 1280, "height": 1000})
    admin.on("request", lambda r: requested.append(r.url))
    admin.goto(f"{stack.api_url}/admin")
    admin.fill("#signin-email", stack.admin_email)
    admin.fill("#signin-password", stack.admin_password)
    admin.click("#signin-button")
    admin.wait_for_selector('#chart svg rect.bar:not([data-gross="0"])')
    gross = admin.eval_on_selector_all(
        "#chart rect.bar", "bars => bars.map(b => Number(b.dataset.gross))"
    )
    assert gross[-1] >= 1999  # today's bar: this sale (and any other test's)
    assert admin.inner_text("#totals-gross") == _dollars(sum(gross))
    row = admin.locator(f"#purchases tr:has-text('{email}')")
    row.wait_for()
    # Refund from the dashboard: Stripe (stand-in) sends charge.refunded; the link dies.
    row.locator("button", has_text="Open").click()
    admin.wait_for_selector("#action-refund")
    admin.on("dialog", lambda dialog: dialog.accept())
    admin.click("#action-refund")
    admin.wait_for_function(
        "() => document.querySelector('#detail') && "
        "document.querySelector('#detail').innerText.includes('refunded')"
    )
    gone = requests.post(link, allow_redirects=False, timeout=10)
    assert gone.status_code == 410 and "refunded" in gone.text
    admin.wait_for_function(
        "() => document.querySelector('#totals-refunded').innerText !== '$0.00'"
    )
    refunded = admin.eval_on_selector_all("#chart rect.refund", "bars => bars.length")
    assert refunded == 1

    # The seller adds a product from the dashboard: priced from "5.00", its file uploaded.
    new_file = tmp_path / "second-edition.pdf"
    new_file.write_bytes(b"%PDF-1.4 second edition")
    name = f"Second Edition {uuid.uuid4().hex[:4]}"
    admin.click("#add-product summary")
    admin.fill("#product-name", name)
    admin.fill("#product-price", "5.00")
    admin.set_input_files("#product-file", str(new_file))
    admin.click("#product-button")
    admin.wait_for_function(
        "() => document.querySelector('#product-status').innerText.includes('is on sale')"
    )
    products = requests.get(f"{stack.api_url}/products", timeout=10).json()["products"]
    added = next(p for p in products if p["name"] == name)
    assert added["price_cents"] == 500
    s3 = local_client(stack, "s3")
    [uploaded] = s3.list_objects_v2(
        Bucket="bull-local-products", Prefix=f"products/{added['id']}/"
    )["Contents"]
    body = s3.get_object(Bucket="bull-local-products", Key=uploaded["Key"])["Body"].read()
    assert body == new_file.read_bytes()
    assert admin.locator("#products tr", has_text=name).count() == 1
    buyer_page = browser.new_page()
    buyer_page.goto(f"{stack.api_url}/")
    assert name in buyer_page.inner_text("main")

    # A second edition replaces the file: buyers keep the first until the new one has landed.
    edition_two = tmp_path / "second-edition-v2.pdf"
    edition_two.write_bytes(b"%PDF-1.4 second edition, revised")
    row = admin.locator("#products tr", has_text=name)
    row.locator("input[type=file]").set_input_files(str(edition_two))
    admin.locator("#products tr", has_text="v2 \u00b7 second-edition-v2.pdf").wait_for()
    new_key = f"products/{added['id']}/v2/second-edition-v2.pdf"
    body = s3.get_object(Bucket="bull-local-products", Key=new_key)["Body"].read()
    assert body == edition_two.read_bytes()
    listed = requests.get(f"{stack.api_url}/products", timeout=10).json()["products"]
    assert any(p["id"] == added["id"] for p in listed)

    # Every request the pages made stayed under the store's base URL (`/api` when rehearsed).
    assert any(u.startswith(f"{stack.api_url}/admin/") for u in requested)
    assert outside_the_store(stack, requested) == []
