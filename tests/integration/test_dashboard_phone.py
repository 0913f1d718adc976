"""The dashboard as a seller meets it on a phone (390 px) and a laptop, in headless Chromium
against the local stack: purchases and products become cards of labelled lines (no table
scrolling sideways inside its card), taps on Open land, the chart's labels keep a readable
size, messages appear next to the control that caused them, a purchase offers only the actions
the store allows (none once refunded or revoked; the API refuses the rest with 409), and "Add
a product" takes a description and the store's currency."""

from __future__ import annotations

import itertools
import uuid

import pytest
import requests

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shots(tmp_path):
    """Where the screenshots go: BULL_SHOTS (to look at them), else the test's tmp dir."""
    import os
    from pathlib import Path

    folder = Path(os.environ.get("BULL_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(page, stack) -> None:
    page.goto(f"{stack.api_url}/admin")
    page.fill("#signin-email", stack.admin_email)
    page.fill("#signin-password", stack.admin_password)
    page.click("#signin-button")
    page.wait_for_selector("#chart svg rect.bar", state="attached")
    page.wait_for_selector("#products tr")


def _refund_at_stripe(stack, session_id: str) -> None:
    base = stack.stripe_api_url
    session = requests.get(f"{base}/v1/checkout/sessions/{session_id}", timeout=10).json()
    answer = requests.post(
        f"{base}/v1/refunds", data={"payment_intent": session["payment_intent"]}, timeout=60
    )
    assert answer.status_code == 200, answer.text


def _admin_call(stack, page, session_id: str, action: str) -> requests.Response:
    token = page.evaluate("() => sessionStorage.getItem('bull.idToken')")
    return requests.post(
        f"{stack.api_url}/admin/purchases/{session_id}/{action}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def _no_sideways_overflow(page, selector: str) -> None:
    sizes = page.eval_on_selector(selector, "n => [n.scrollWidth, n.clientWidth]")
    assert sizes[0] <= sizes[1], f"{selector} scrolls sideways: {sizes}"


def test_on_a_phone_purchases_and_products_are_cards_and_open_lands(stack, buyer, browser, shots):
    email = f"phone-{uuid.uuid4().hex[:8]}@example.com"
    # A buyer with a long address shares the list: no cell may push a table wider.
    buyer.buy(f"a.buyer.with.a.rather.long.address.{uuid.uuid4().hex}@subdomain.example.com")
    session_id = buyer.buy(email)
    page = browser.new_page(viewport=PHONE)
    _sign_in(page, stack)
    card = page.locator(f'#purchases tr[data-purchase-id="{session_id}"]')
    card.wait_for()

    # No header row; each purchase a bordered block whose lines say what they are.
    assert not page.locator("table.cards thead").first.is_visible()
    assert card.evaluate("tr => getComputedStyle(tr).display") == "block"
    labels = card.locator("td").evaluate_all(
        "tds => tds.map(td => getComputedStyle(td, '::before').content)"
    )
    assert labels[:5] == ['"When"', '"Buyer"', '"Product"', '"Paid"', '"Link"'], labels
    lines = card.inner_text()
    assert email in lines and "$19.99" in lines
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    for wrapper in (".scroll", "#products", ".table-wrap"):
        _no_sideways_overflow(page, wrapper)
    product = page.locator(f'#products tr[data-product-id="{stack.demo_product_id}"]')
    assert '"Price"' in product.locator("td").evaluate_all(
        "tds => tds.map(td => getComputedStyle(td, '::before').content)"
    )
    for name in ("Unlist", "New file"):
        b = product.locator("button", has_text=name)
        assert b.is_visible()
        bb = b.bounding_box()
        assert bb["x"] + bb["width"] <= 390 and bb["height"] >= 32  # a thumb-sized target

    # A tap on Open lands on Open (Playwright fails if anything else would take the tap) and
    # brings the purchase into view.
    card.locator("button", has_text="Open").click()
    page.wait_for_selector("#detail-actions")
    assert session_id in page.inner_text("#detail")
    top = page.eval_on_selector("#detail", "n => n.getBoundingClientRect().top")
    assert -2 <= top < 844
    page.screenshot(path=str(shots / "phone-detail.png"))
    # On a laptop the purchases are a table again and nothing inside a card scrolls sideways
    # either (the products' narrow column stays cards).
    page.set_viewport_size({"width": 1280, "height": 900})
    page.wait_for_timeout(100)
    assert card.evaluate("tr => getComputedStyle(tr).display") == "table-row"
    for wrapper in (".scroll", ".table-wrap", "#detail"):
        _no_sideways_overflow(page, wrapper)
    page.screenshot(path=str(shots / "laptop-detail.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "phone-cards.png"), full_page=True)
    page.close()


def test_the_charts_labels_stay_legible_on_a_phone(stack, buyer, browser):
    buyer.buy(f"chart-{uuid.uuid4().hex[:8]}@example.com")
    page = browser.new_page(viewport=PHONE)
    _sign_in(page, stack)
    labels = page.eval_on_selector_all(
        "#chart svg text",
        "ts => ts.map(t => { const r = t.getBoundingClientRect();"
        " return {text: t.textContent, left: r.left, right: r.right, top: r.top, h: r.height}; })",
    )
    assert labels
    assert min(label["h"] for label in labels) >= 11, labels  # 12 px text, not scaled down
    dates = sorted((x for x in labels if x["text"].count("-") == 1), key=lambda x: x["left"])
    assert len(dates) >= 2
    assert all(a["right"] + 4 <= b["left"] for a, b in itertools.pairwise(dates)), dates
    assert max(x["right"] for x in labels) <= 390
    # Wider again: the chart redraws at its new width, more dates fit.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.wait_for_function(
        "n => document.querySelectorAll('#chart svg text').length > n", arg=len(labels)
    )
    page.close()


def test_messages_appear_next_to_the_control_that_caused_them(stack, browser):
    page = browser.new_page(viewport=PHONE)
    _sign_in(page, stack)
    page.fill("#search-email", "not-an-address")
    page.click("#search-button")
    page.wait_for_function("() => document.querySelector('#search-error').innerText !== ''")
    assert "address" in page.inner_text("#search-error")
    below = page.evaluate(
        "() => document.querySelector('#search-error').getBoundingClientRect().top"
        " - document.querySelector('#search-button').getBoundingClientRect().bottom"
    )
    assert 0 <= below < 80, below

    page.click("#add-product summary")
    page.fill("#product-name", "Bad price")
    page.fill("#product-price", "twelve")
    page.set_input_files(
        "#product-file", files=[{"name": "x.pdf", "mimeType": "application/pdf", "buffer": b"x"}]
    )
    page.click("#product-button")
    page.wait_for_function("() => document.querySelector('#product-error').innerText !== ''")
    assert "plain amount" in page.inner_text("#product-error")
    gap = page.evaluate(
        "() => document.querySelector('#product-error').getBoundingClientRect().top"
        " - document.querySelector('#product-button').getBoundingClientRect().bottom"
    )
    assert 0 <= gap < 80, gap
    page.close()


def test_a_refunded_or_revoked_purchase_offers_no_actions_and_the_store_refuses_them(
    stack, buyer, browser
):
    refunded = buyer.buy(f"refunded-{uuid.uuid4().hex[:8]}@example.com")
    revoked = buyer.buy(f"revoked-{uuid.uuid4().hex[:8]}@example.com")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(page, stack)

    # A paid purchase offers all four.
    row = page.locator(f'#purchases tr[data-purchase-id="{revoked}"]')
    row.wait_for()
    row.locator("button", has_text="Open").click()
    page.wait_for_selector("#action-revoke")
    shown = page.eval_on_selector_all("#detail-actions button", "bs => bs.map(b => b.id)")
    assert shown == ["action-resend", "action-reset", "action-revoke", "action-refund"]

    # Revoke: a note next to the buttons, and the buttons are gone.
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#action-revoke")
    page.wait_for_function("() => document.querySelector('#detail-note').innerText !== ''")
    assert "revoked" in page.inner_text("#detail-note")
    assert page.locator("#detail-actions button").count() == 0
    assert "Nothing to do here" in page.inner_text("#detail-actions")

    # Refunded at Stripe: opened, it offers nothing.
    _refund_at_stripe(stack, refunded)
    page.reload()
    page.wait_for_selector("#purchases tr")
    page.locator(f'#purchases tr[data-purchase-id="{refunded}"] button', has_text="Open").click()
    page.wait_for_selector("#detail-actions")
    page.wait_for_function(
        "id => document.querySelector('#detail').innerText.includes(id)", arg=refunded
    )
    assert page.locator("#detail-actions button").count() == 0
    assert "refunded" in page.inner_text("#detail-actions")

    # The API refuses what the dashboard does not offer: 409 with a code saying why, and
    # nothing changes (reset does not touch a dead link's counters).
    for session_id, code in ((refunded, "link_refunded"), (revoked, "link_revoked")):
        for action in ("resend", "reset", "revoke", "refund"):
            answer = _admin_call(stack, page, session_id, action)
            assert answer.status_code == 409, (action, answer.text)
            assert answer.json()["error"]["code"] == code
    assert _admin_call(stack, page, revoked, "explode").status_code == 404
    page.close()


def test_add_a_product_with_a_description_in_the_stores_currency(stack, browser, tmp_path):
    page = browser.new_page(viewport=PHONE)
    _sign_in(page, stack)
    page.click("#add-product summary")
    assert page.eval_on_selector("#product-currency", "s => s.value") == "usd"
    assert page.inner_text("label[for=product-price]") == "Price in USD"
    name = f"Phone Edition {uuid.uuid4().hex[:4]}"
    upload = tmp_path / "phone.pdf"
    upload.write_bytes(b"%PDF-1.4 phone")
    page.fill("#product-name", name)
    page.fill("#product-description", "Read it on the bus.")
    page.fill("#product-price", "7.50")
    page.set_input_files("#product-file", str(upload))
    page.click("#product-button")
    page.wait_for_function(
        "() => document.querySelector('#product-status').innerText.includes('is on sale')"
    )
    assert page.inner_text("#product-error") == ""
    products = requests.get(f"{stack.api_url}/products", timeout=10).json()["products"]
    added = next(p for p in products if p["name"] == name)
    assert added["description"] == "Read it on the bus."
    assert (added["price_cents"], added["currency"]) == (750, "usd")
    storefront = browser.new_page(viewport=PHONE)
    storefront.goto(f"{stack.api_url}/")
    card = storefront.locator(f'[data-product-id="{added["id"]}"]')
    assert "Read it on the bus." in card.inner_text() and "$7.50" in card.inner_text()
    storefront.close()
    page.close()
