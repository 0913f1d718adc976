"""The dashboard at a phone's width (390 px) and a laptop's (1280 px), in headless Chromium
against the local stack: no state scrolls sideways — signed out, loaded, a purchase open (its
download log holding a long user agent, its facts the long pi_… and cs_… ids), the product form
open, an error shown — and sign-out revokes the refresh token at Cognito before the tab forgets
it, signing out all the same when Cognito fails.

`BULL_SCREENSHOT=1` refreshes docs/dashboard.png (1280 px, loaded, with four weeks of sales) and
docs/dashboard-phone.png (390 px, a purchase open).

moto 5.2.5 does not implement Cognito's `RevokeToken` (its cognito-idp backend has no such
action; the server answers an error), so against the local stack a revoked refresh token still
refreshes: the sign-out test checks the request the dashboard sends and that any failure still
signs out, and checks that the old token no longer refreshes only where Cognito answered the
revocation with success.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from bull_chalice import users
from bull_chalice.local import LocalState, local_client
from tests.integration.test_browser_story import DOCS, _seed_past_sales

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SCREENSHOT = os.environ.get("BULL_SCREENSHOT") == "1"
WIDTHS = (390, 1280)
PASSWORD = "Widths-Password-11"
# No spaces, so nothing but the layout can break it: wider than a phone on its own.
LONG_AGENT = "Mozilla/5.0_(X11;Linux_x86_64)_AppleWebKit/537.36_(KHTML,like_Gecko)_" + "Z" * 160


def _fits(page, state: str, shots: Path) -> None:
    """No sideways scroll in this state at either width (a screenshot of each kept)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(80)
        sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        page.screenshot(path=str(shots / f"{state}-{width}.png"), full_page=True)
        assert sizes[0] <= sizes[1], f"{state} scrolls sideways at {width} px: {sizes}"
    page.set_viewport_size({"width": 1280, "height": 900})


def _sign_in(page, email: str, password: str) -> None:
    page.fill("#signin-email", email)
    page.fill("#signin-password", password)
    page.click("#signin-button")
    page.wait_for_selector("#chart svg rect.bar", state="attached")
    page.wait_for_selector("#products tr")


def _text_in(page, selector: str) -> None:
    page.wait_for_function(
        "sel => document.querySelector(sel).innerText.trim() !== ''", arg=selector
    )


def test_every_dashboard_state_fits_a_phone_and_a_laptop(stack, buyer, browser, tmp_path):
    # A sale whose link was used by a client with a long, unbreakable user agent.
    email = f"widths-{uuid.uuid4().hex[:8]}@example.com"
    session_id = buyer.buy(email)
    link = buyer.receipt_for(email)["link"]
    taken = requests.post(
        link, headers={"User-Agent": LONG_AGENT}, allow_redirects=False, timeout=30
    )
    assert taken.status_code == 303
    if SCREENSHOT:
        _seed_past_sales(stack)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{stack.api_url}/admin")
    _fits(page, "signed-out", tmp_path)

    _sign_in(page, stack.admin_email, stack.admin_password)
    row = page.locator(f'#purchases tr[data-purchase-id="{session_id}"]')
    row.wait_for()
    _fits(page, "loaded", tmp_path)
    if SCREENSHOT:
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / "dashboard.png"))

    row.locator("button", has_text="Open").click()
    page.wait_for_selector("#download-log")
    detail = page.inner_text("#detail")
    assert session_id in detail and "pi_" in detail
    assert LONG_AGENT[:40] in page.inner_text("#download-log")
    _fits(page, "purchase-open", tmp_path)
    if SCREENSHOT:
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(80)
        page.screenshot(path=str(DOCS / "dashboard-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

    page.click("#add-product summary")
    page.wait_for_selector("#product-form", state="visible")
    _fits(page, "product-form-open", tmp_path)

    # Errors: a price the store refuses, next to the form; a search the store refuses.
    upload = tmp_path / "a-file-name-that-goes-on-and-on-without-any-break-at-all.pdf"
    upload.write_bytes(b"%PDF-1.4 x")
    page.fill("#product-name", "Widths " + "W" * 120)
    page.fill("#product-price", "not-a-price-" + "9" * 80)
    page.set_input_files("#product-file", str(upload))
    page.click("#product-button")
    _text_in(page, "#product-error")
    assert "on sale" not in page.inner_text("#product-status")
    page.fill("#search-email", "not-an-address-" + "x" * 100)
    page.click("#search-button")
    _text_in(page, "#search-error")
    _fits(page, "error-shown", tmp_path)
    page.close()


# -- sign-out --------------------------------------------------------------------------------


def _seller(stack: LocalState) -> str:
    email = f"signout-{uuid.uuid4().hex[:8]}@example.com"
    users.add_user(local_client(stack, "cognito-idp"), stack.user_pool_id, email, PASSWORD)
    return email


def _refreshes(stack: LocalState, token: str) -> bool:
    try:
        answer = local_client(stack, "cognito-idp").initiate_auth(
            ClientId=stack.user_pool_client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": token},
        )
    except ClientError:
        return False
    return "IdToken" in answer.get("AuthenticationResult", {})


def _revocations(page) -> list[dict]:
    """The RevokeToken calls the page sends, each with Cognito's status (None: no answer)."""
    seen: list[dict] = []

    def record(request) -> None:  # type: ignore[no-untyped-def]
        target = request.headers.get("x-amz-target", "")
        if target == "AWSCognitoIdentityProviderService.RevokeToken":
            seen.append({"body": json.loads(request.post_data or "{}"), "request": request})

    page.on("request", record)
    return seen


def _signed_out(page) -> None:
    page.wait_for_selector("#signin-form:not(.hidden)")
    assert page.is_hidden("#dashboard")
    assert page.evaluate("() => Object.assign({}, sessionStorage)") == {}


def test_sign_out_revokes_the_refresh_token_at_cognito(stack, browser):
    email = _seller(stack)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    revocations = _revocations(page)
    page.goto(f"{stack.api_url}/admin")
    _sign_in(page, email, PASSWORD)
    token = page.evaluate("() => sessionStorage.getItem('bull.refreshToken')")
    assert token and _refreshes(stack, token)

    page.click("#signout-button")
    _signed_out(page)
    [call] = revocations
    assert call["body"] == {"Token": token, "ClientId": stack.user_pool_client_id}
    answer = call["request"].response()
    if answer is not None and answer.ok:  # a Cognito that implements RevokeToken
        assert not _refreshes(stack, token)
    else:  # moto 5.2.5: RevokeToken is not implemented; the tab signed out all the same
        assert _refreshes(stack, token)
    context.close()


@pytest.mark.parametrize("failure", ["unreachable", "refused"])
def test_sign_out_signs_out_when_cognito_fails_the_revocation(stack, browser, failure):
    email = _seller(stack)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    revocations = _revocations(page)
    page.goto(f"{stack.api_url}/admin")
    _sign_in(page, email, PASSWORD)

    def cognito(route) -> None:  # type: ignore[no-untyped-def]
        target = route.request.headers.get("x-amz-target", "")
        if not target.endswith(".RevokeToken"):
            route.continue_()
        elif failure == "unreachable":
            route.abort("connectionrefused")
        else:
            route.fulfill(
                status=400,
                content_type="application/x-amz-json-1.1",
                body=json.dumps({"__type": "UnauthorizedException", "message": "no"}),
            )

    page.route(f"{stack.moto_url}/**", cognito)
    page.click("#signout-button")
    _signed_out(page)
    assert len(revocations) == 1
    assert page.inner_text("#signin-error") == ""
    context.close()
