"""Signing in to the dashboard as real Cognito users, in headless Chromium against a local stack:
a first sign-in with a temporary password chooses a new one; a forgotten password is reset
with the mailed code; TOTP MFA turned on from the dashboard is asked at the next sign-in; the
refresh token keeps a seller signed in when the ID token no longer works. Every new form is
checked at 390 px and 1280 px wide for sideways scrolling.

The local stack's moto server checks TOTP codes (MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true;
without it moto accepts any code); like every integration test this runs against `make run`
(at `/`) and `make rehearse` (under `/api`). See
tests/test_signin.py for what moto 5.2.5 does with reset codes and TOTP secrets.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bull_chalice import users
from bull_chalice.local import LocalState, local_client
from tests.test_signin import MOTO_TOTP_SECRET, NEW_PASSWORD, TEMPORARY, fresh_totp, wrong_totp

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SHOTS = os.environ.get("BULL_SIGNIN_SHOTS")  # a directory to keep the screenshots in
PASSWORD = "First-Password-11"
COGNITO_TARGET = "x-amz-target"


class Seller:
    """One seller's tab on the dashboard, recording every request it makes."""

    def __init__(self, stack: LocalState, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
        self.stack = stack
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.shots = shots

    def open(self) -> None:
        self.page.goto(f"{self.stack.api_url}/admin")

    def sign_in(self, email: str, password: str) -> None:
        self.page.fill("#signin-email", email)
        self.page.fill("#signin-password", password)
        self.page.click("#signin-button")

    def sees_the_dashboard(self) -> None:
        self.page.wait_for_selector("#chart svg rect.bar", state="attached")
        self.page.wait_for_selector("#products tr")
        assert self.page.is_hidden("#signin")

    def error(self, selector: str, words: str) -> None:
        self.page.wait_for_function(
            "([sel, words]) => document.querySelector(sel).innerText.includes(words)",
            arg=[selector, words],
        )

    def fits(self, name: str) -> None:
        """No sideways scroll at 390 px or at 1280 px; screenshots of both."""
        for width in (390, 1280):
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.wait_for_timeout(50)
            fits = self.page.evaluate(
                "() => document.documentElement.scrollWidth <= window.innerWidth"
            )
            self.page.screenshot(path=str(self.shots / f"{name}-{width}.png"), full_page=True)
            assert fits, f"{name} scrolls sideways at {width} px"
        self.page.set_viewport_size({"width": 1280, "height": 900})

    def session(self) -> dict[str, str]:
        return self.page.evaluate("() => Object.assign({}, sessionStorage)")

    def stayed_under_the_base(self) -> None:
        """Every request went to the store under its base URL, or to Cognito (moto here)."""
        strays = [
            url
            for url in self.requests
            if not url.startswith((f"{self.stack.api_url}/", f"{self.stack.moto_url}/"))
        ]
        assert strays == []

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def seller(stack, browser, tmp_path) -> Iterator[Seller]:
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    tab = Seller(stack, browser, shots)
    try:
        yield tab
    finally:
        tab.close()


def _email(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}@example.com"


def invited_admin(stack: LocalState) -> str:
    """An admin as `bull admin add EMAIL` leaves one: FORCE_CHANGE_PASSWORD."""
    email = _email("invited")
    cognito = local_client(stack, "cognito-idp")
    cognito.admin_create_user(
        UserPoolId=stack.user_pool_id,
        Username=email,
        TemporaryPassword=TEMPORARY,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
    )
    cognito.admin_add_user_to_group(
        UserPoolId=stack.user_pool_id, Username=email, GroupName=users.ADMIN_GROUP
    )
    return email


def admin_with_password(stack: LocalState) -> str:
    email = _email("seller")
    users.add_user(local_client(stack, "cognito-idp"), stack.user_pool_id, email, PASSWORD)
    return email


def test_first_sign_in_with_a_temporary_password_chooses_a_new_one(stack, seller):
    email = invited_admin(stack)
    page = seller.page
    seller.open()
    seller.fits("signin")
    seller.sign_in(email, TEMPORARY)
    page.wait_for_selector("#newpw-form:not(.hidden)")
    assert page.inner_text("#signin-title") == "Choose a new password"
    seller.fits("new-password")

    page.fill("#newpw-password", NEW_PASSWORD)
    page.fill("#newpw-confirm", NEW_PASSWORD + "x")
    page.click("#newpw-button")
    seller.error("#newpw-error", "The two passwords differ")
    page.fill("#newpw-password", "only-lowercase-letters")
    page.fill("#newpw-confirm", "only-lowercase-letters")
    page.click("#newpw-button")
    seller.error("#newpw-error", "stronger password")
    seller.fits("new-password-error")

    page.fill("#newpw-password", NEW_PASSWORD)
    page.fill("#newpw-confirm", NEW_PASSWORD)
    page.click("#newpw-button")
    seller.sees_the_dashboard()
    assert page.inner_text("#who") == email
    user = local_client(stack, "cognito-idp").admin_get_user(
        UserPoolId=stack.user_pool_id, Username=email
    )
    assert user["UserStatus"] == "CONFIRMED"

    page.click("#signout-button")
    page.wait_for_selector("#signin-form:not(.hidden)")
    assert seller.session() == {}
    seller.sign_in(email, NEW_PASSWORD)  # no more questions
    seller.sees_the_dashboard()
    seller.stayed_under_the_base()


def test_wrong_password_is_said_next_to_the_sign_in_form(stack, seller):
    seller.open()
    seller.sign_in(admin_with_password(stack), "Not-The-Password-1")
    seller.error("#signin-error", "Wrong email or password.")
    seller.sign_in(_email("nobody"), PASSWORD)
    seller.error("#signin-error", "Wrong email or password.")
    seller.fits("signin-error")


def test_forgot_password_resets_it_with_the_mailed_code(stack, seller):
    email = admin_with_password(stack)
    page = seller.page
    seller.open()
    page.fill("#signin-email", email)
    page.click("#forgot-link")
    page.wait_for_selector("#forgot-form:not(.hidden)")
    assert page.input_value("#forgot-email") == email
    seller.fits("forgot")

    # moto puts the code it would mail in a response header (see tests/test_signin.py).
    with page.expect_response(
        lambda r: (r.request.headers.get(COGNITO_TARGET) or "").endswith(".ForgotPassword")
    ) as sent:
        page.click("#forgot-button")
    code = sent.value.headers["x-moto-forgot-password-confirmation-code"]
    page.wait_for_selector("#reset-form:not(.hidden)")
    assert "code is on its way" in page.inner_text("#reset-note")
    seller.fits("reset")

    number = int(code.rsplit(":", 1)[1])
    page.fill("#reset-code", f"moto-confirmation-code:{number % 899_999 + 100_001}")
    page.fill("#reset-password", NEW_PASSWORD)
    page.fill("#reset-confirm", NEW_PASSWORD)
    page.click("#reset-button")
    seller.error("#reset-error", "That code is wrong or has expired")
    seller.fits("reset-error")

    page.fill("#reset-code", code)
    page.fill("#reset-password", NEW_PASSWORD)
    page.fill("#reset-confirm", NEW_PASSWORD)
    page.click("#reset-button")
    page.wait_for_selector("#signin-form:not(.hidden)")
    assert "Password changed" in page.inner_text("#signin-note")
    assert page.input_value("#signin-email") == email
    page.fill("#signin-password", NEW_PASSWORD)
    page.click("#signin-button")
    seller.sees_the_dashboard()
    seller.stayed_under_the_base()


def test_mfa_turned_on_in_the_dashboard_is_asked_at_sign_in(stack, seller):
    email = admin_with_password(stack)
    page = seller.page
    seller.open()
    seller.sign_in(email, PASSWORD)
    seller.sees_the_dashboard()
    page.wait_for_function("() => !document.querySelector('#mfa-start-button').disabled")

    page.click("#mfa-start-button")
    page.wait_for_selector("#totp-form:not(.hidden)")
    assert page.inner_text("#totp-secret") == MOTO_TOTP_SECRET  # moto gives everyone this one
    uri = page.inner_text("#totp-uri")
    assert uri.startswith(f"otpauth://totp/Bull%20Local%20Store:{email}?secret={MOTO_TOTP_SECRET}")
    seller.fits("mfa-setup")
    page.fill("#totp-code", wrong_totp())
    page.click("#totp-button")
    seller.error("#totp-error", "That code is wrong")
    seller.fits("mfa-setup-error")
    page.fill("#totp-code", fresh_totp())
    page.click("#totp-button")
    seller.error("#mfa-state", "Two-factor sign-in is on")
    assert page.is_hidden("#mfa-start-button")

    page.click("#signout-button")
    seller.sign_in(email, PASSWORD)
    page.wait_for_selector("#mfa-form:not(.hidden)")
    assert page.inner_text("#signin-title") == "Two-factor code"
    seller.fits("mfa-code")
    page.fill("#mfa-code", wrong_totp())
    page.click("#mfa-button")
    seller.error("#mfa-error", "That code is wrong")
    page.fill("#mfa-code", fresh_totp())
    page.click("#mfa-button")
    seller.sees_the_dashboard()
    seller.error("#mfa-state", "Two-factor sign-in is on")  # read back from Cognito
    seller.stayed_under_the_base()


def test_refresh_token_keeps_the_seller_signed_in(stack, seller):
    email = admin_with_password(stack)
    page = seller.page
    refresh_calls: list[dict] = []
    page.on(
        "request",
        lambda r: (
            refresh_calls.append(json.loads(r.post_data or "{}"))
            if (r.headers.get(COGNITO_TARGET) or "").endswith(".InitiateAuth")
            and "REFRESH_TOKEN_AUTH" in (r.post_data or "")
            else None
        ),
    )
    seller.open()
    seller.sign_in(email, PASSWORD)
    seller.sees_the_dashboard()
    kept = seller.session()
    assert kept["bull.refreshToken"] and kept["bull.idToken"]
    assert page.evaluate("() => localStorage.length") == 0
    assert "token" not in page.url.lower()

    # The ID token no longer works (as after its hour): the store's 401 makes the page refresh
    # once and retry, and the data loads.
    page.evaluate("() => sessionStorage.setItem('bull.idToken', 'not.a.token')")
    page.reload()
    seller.sees_the_dashboard()
    page.wait_for_selector("#purchases tr")
    assert seller.session()["bull.idToken"] not in ("not.a.token", kept["bull.idToken"])
    assert (
        page.eval_on_selector_all("#dashboard .error", "es => es.map(e => e.innerText)")
        == [""] * page.locator("#dashboard .error").count()
    )
    assert page.inner_text("#who") == email
    assert len(refresh_calls) == 1
    assert refresh_calls[0]["AuthParameters"] == {"REFRESH_TOKEN": kept["bull.refreshToken"]}

    # Shortly before the hour is up the page refreshes first, without waiting for a 401.
    page.evaluate("() => sessionStorage.setItem('bull.expiresAt', String(Date.now() + 1000))")
    page.click("#range-button")
    page.wait_for_function(
        "() => Number(sessionStorage.getItem('bull.expiresAt')) > Date.now() + 600000"
    )
    assert len(refresh_calls) == 2

    # A refresh token Cognito refuses ends the session: back to sign-in, with a message.
    page.evaluate(
        "() => { sessionStorage.setItem('bull.idToken', 'not.a.token');"
        " sessionStorage.setItem('bull.refreshToken', 'revoked'); }"
    )
    page.reload()
    page.wait_for_selector("#signin-form:not(.hidden)")
    seller.error("#signin-error", "Your session has ended")
    assert seller.session() == {}
    seller.stayed_under_the_base()
