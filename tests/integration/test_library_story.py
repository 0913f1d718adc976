"""A buyer who lost the receipt, in headless Chromium against the local stack (both shapes):
asks the library from the thanks page's "Lost your link?", opens the mailed sign-in link, sees
the purchase and downloads the file, all under the base URL that served the store."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from bull_chalice.demo import demo_file

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LIBRARY_LINK = r'https?://[^"\s<]+/library/[A-Za-z0-9_-]{32}'


def library_mail(stack, email: str, timeout: float = 10.0) -> str:
    """The sign-in link of the newest library mail to `email` (from moto's SES)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = requests.get(f"{stack.moto_url}/moto-api/data.json", timeout=10).json()
        for message in reversed(data.get("ses", {}).get("Message") or []):
            to = (message.get("destinations") or {}).get("ToAddresses", [])
            found = re.search(LIBRARY_LINK, message.get("body") or "")
            if email in to and found:
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no library mail to {email}")


def test_a_buyer_who_lost_the_receipt_gets_a_library_mail_and_downloads(
    stack, buyer, browser, tmp_path
):
    email = f"lost-{uuid.uuid4().hex[:8]}@example.com"
    session_id = buyer.buy(email)
    buyer.receipt_for(email)  # the receipt went out ... and the buyer deleted it

    page = browser.new_page(accept_downloads=True, viewport={"width": 390, "height": 800})
    page.goto(f"{stack.api_url}/thanks?session_id={session_id}")
    page.click("#library-link")
    page.wait_for_url(f"{stack.api_url}/library")
    page.fill("#email", email)
    page.click("#library-button")
    page.wait_for_url(f"{stack.api_url}/library")
    assert "Check your email" in page.inner_text("h1")

    link = library_mail(stack, email)
    assert link.startswith(f"{stack.api_url}/library/")
    page.goto(link)
    assert "Your purchases" in page.inner_text("h1")
    item = page.locator(".purchase")
    assert item.count() == 1 and "Ready to download" in item.inner_text()
    # The page fits a phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    item.locator("a.download-page").click()
    page.wait_for_url(f"{stack.api_url}/download/*")
    assert "5 downloads left" in page.inner_text("#downloads-left")
    with page.expect_download() as download_info:
        page.click("#download-button")
    saved = tmp_path / "file.pdf"
    download_info.value.save_as(saved)
    assert saved.read_bytes() == demo_file()

    # Opening the library again consumed nothing; it shows the link with one download taken.
    page.goto(link)
    page.locator("a.download-page").click()
    assert "4 downloads left" in page.inner_text("#downloads-left")
    page.close()
