"""The receipt e-mail as a phone's mail app shows it: the HTML part rendered in headless
Chromium at 390 px has a viewport, a button for the link, a fallback link that wraps and no
sideways scroll; the text part carries the link and the amount on lines of their own."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.sale.receipts import Mailer, Receipt

pytestmark = [pytest.mark.browser]

# As long as real links and ids get: a 43-character token under an API Gateway base URL.
LINK = (
    "https://abcdefghij.execute-api.eu-central-1.amazonaws.com/api/download/"
    "Xk3vQ9Rlm-IFitUUzDUaoSiSAe82zkFT7wk3YN9RlmI"
)
SESSION = "cs_test_a1" + "B2c3D4e5F6g7H8i9J0" * 3


class CapturingSes:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_email(self, **kwargs: Any) -> dict[str, str]:
        self.sent.append(kwargs)
        return {"MessageId": "m-1"}


def _receipt(currency: str, cents: int) -> dict[str, str]:
    ses = CapturingSes()
    Mailer(ses, "store@example.com", "Bull Test Store").send_receipt(
        Receipt(
            to="buyer@example.com",
            product_name="The Bull Demo Guide",
            amount_cents=cents,
            currency=currency,
            link=LINK,
            downloads=5,
            expires_at=datetime(2030, 1, 31, tzinfo=UTC),
            session_id=SESSION,
        )
    )
    body = ses.sent[0]["Message"]["Body"]
    return {"html": body["Html"]["Data"], "text": body["Text"]["Data"]}


def test_the_receipt_reads_well_on_a_phone(env, browser, tmp_path):
    mail = _receipt("usd", 1999)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in mail["html"]
    assert "<table" not in mail["html"]

    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_content(mail["html"])
    shots = Path(os.environ.get("BULL_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "receipt-390.png"), full_page=True)
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], f"the receipt scrolls sideways at 390 px: {sizes}"

    # A button: a full-width, thumb-sized block that opens the link.
    button = page.locator("#download-button")
    assert button.get_attribute("href") == LINK
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 250
    # The fallback link is the whole link, wrapped inside the card.
    fallback = page.locator("#fallback-link")
    assert fallback.inner_text().replace("\n", "") == LINK
    assert fallback.bounding_box()["x"] + fallback.bounding_box()["width"] <= 390
    assert page.locator("#amount").inner_text() == "$19.99"
    page.close()


@pytest.mark.parametrize(
    ("currency", "cents", "shown"), [("usd", 1999, "$19.99"), ("jpy", 1500, "¥1,500")]
)
def test_the_text_part_carries_the_link_and_the_amount(env, currency, cents, shown):
    text = _receipt(currency, cents)["text"]
    lines = text.splitlines()
    assert LINK in lines  # on a line of its own, so a mail app makes it a link
    assert f"Paid: {shown}" in lines
    assert SESSION in text and "5 downloads" in text
    assert max(len(line) for line in lines if line != LINK and line != SESSION) <= 100
