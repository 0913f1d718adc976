"""What a buyer meets when something needs fixing or they change their mind, in headless
Chromium against the local stack: an e-mail the browser accepts but the store refuses brings
the storefront back with the address kept and what to fix beside it; the Stripe stand-in's pay
page reads like a checkout (product, amount in the currency's format, test mode) and its
Cancel returns to the storefront."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BULL_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_refused_email_keeps_what_the_buyer_typed_and_says_what_to_fix(stack, browser, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{stack.api_url}/")
    card = page.locator(f'[data-product-id="{stack.demo_product_id}"]')
    card.locator('input[name="email"]').fill("dave@localhost")  # valid to the browser
    with page.expect_response(f"{stack.api_url}/checkout/**") as answer:
        card.locator("button", has_text="Buy").click()
    assert answer.value.status == 400
    page.wait_for_load_state()
    page.screenshot(path=str(_shots(tmp_path) / "storefront-fix-email.png"), full_page=True)

    # The storefront again, not an error page: the address as typed, the message beside it.
    card = page.locator(f'[data-product-id="{stack.demo_product_id}"]')
    field = card.locator('input[name="email"]')
    assert field.input_value() == "dave@localhost"
    assert field.get_attribute("aria-invalid") == "true"
    message = card.locator('[role="alert"]')
    assert "domain after the @" in message.inner_text() or "email" in message.inner_text()
    gap = message.bounding_box()["y"] - (field.bounding_box()["y"] + field.bounding_box()["height"])
    assert 0 <= gap < 40, gap
    assert page.evaluate("() => document.activeElement.name") == "email"
    assert "could not be read" not in page.inner_text("body")

    # Fixed, it goes on to pay.
    field.fill("dave@example.com")
    card.locator("button", has_text="Buy").click()
    page.wait_for_url(f"{stack.stripe_api_url}/pay/**")
    assert "dave@example.com" in page.inner_text("main")
    page.close()


def test_json_callers_keep_their_error_answer(stack):
    answer = requests.post(
        f"{stack.api_url}/checkout/{stack.demo_product_id}",
        json={"email": "dave@localhost"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 400
    assert "Digital goods" not in answer.text  # not the storefront


def test_the_pay_page_looks_like_a_checkout_and_cancel_goes_back(stack, browser, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{stack.api_url}/")
    card = page.locator(f'[data-product-id="{stack.demo_product_id}"]')
    card.locator("button", has_text="Buy").click()
    page.wait_for_url(f"{stack.stripe_api_url}/pay/**")
    page.screenshot(path=str(_shots(tmp_path) / "pay-page-390.png"), full_page=True)

    assert "Test mode" in page.inner_text("#test-mode")
    assert page.inner_text("#product") == "The Bull Demo Guide"
    assert page.inner_text("#amount") == "$19.99"
    assert page.locator("#card-number").is_visible()
    assert page.inner_text("#pay-button") == "Pay $19.99"
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], sizes

    page.click("#cancel-link")
    page.wait_for_url(f"{stack.api_url}/")
    assert page.locator(f'[data-product-id="{stack.demo_product_id}"]').is_visible()
    page.close()
