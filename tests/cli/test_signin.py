"""`bull` sign-in for real Cognito users, against moto's Cognito (in-process, no stand-ins):
a first sign-in with a temporary password sets a new one and `bull report` then works; a
forgotten password is reset with the mailed code; TOTP MFA turned on with `bull admin mfa`
makes every sign-in ask for a code. `bull report` reads the report over HTTP from the app
itself, served on 127.0.0.1 by Chalice's local server in this process.

What moto 5.2.5 does, and these tests rely on:
- ForgotPassword stores a code `moto-confirmation-code:NNNNNN` on the user (and returns it in
  an `x-moto-forgot-password-confirmation-code` header, where AWS would mail it).
  ConfirmForgotPassword checks only codes that start with `moto-confirmation-code:`; any other
  string is accepted. The tests read the "mailed" code from moto's backend and send wrong codes
  with that prefix.
- AssociateSoftwareToken hands every user the same secret, `asdfasdfasdf` (base32); TOTP codes
  are checked (RFC 6238, SHA-1, 6 digits, 30 s, no window) only with
  MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true, which these tests set; without it any code passes.
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner

from bull_chalice.cli import main
from tests.conftest import ADMIN_EMAIL, REGION, SELLER_PASSWORD, TEST_ENV

MOTO_TOTP_SECRET = "asdfasdfasdf"
TEMPORARY = "Temporary-Pass-1"
NEW_PASSWORD = "Brand-New-Password-7"


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238 with Cognito's parameters: HMAC-SHA1, 30-second steps, 6 digits."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), "sha1").digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def fresh_totp(secret: str = MOTO_TOTP_SECRET) -> str:
    """A code with at least 5 seconds of its step left (moto accepts no neighbouring step)."""
    left = 30 - time.time() % 30
    if left < 5:
        time.sleep(left + 0.2)
    return totp(secret)


def wrong_totp(secret: str = MOTO_TOTP_SECRET) -> str:
    return f"{(int(fresh_totp(secret)) + 1) % 1_000_000:06d}"


class Later(io.RawIOBase):
    """stdin whose text is made when the command first reads it: after the command has asked
    Cognito for a code, or printed a TOTP key, and before it reads the answer."""

    def __init__(self, make: Callable[[], str]) -> None:
        self._make = make
        self._data: bytes | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if not len(buffer):
            return 0
        if self._data is None:
            self._data = self._make().encode()
        n = min(len(buffer), len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


@pytest.fixture
def store_url(pool) -> Iterator[str]:
    """The app served over HTTP on a free port, with the `pool` fixture's Cognito pool."""
    from chalice.config import Config
    from chalice.local import ChaliceRequestHandler, LocalDevServer

    from app import app

    class Quiet(ChaliceRequestHandler):
        def log_message(self, *args: object) -> None:  # the CLI's stderr is under test
            pass

    server = LocalDevServer(app, Config(chalice_stage="test"), "127.0.0.1", 0, handler_cls=Quiet)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server.server_address[1]}"
    finally:
        server.shutdown()
        server.server.server_close()
        thread.join(5)


@pytest.fixture
def stage(pool, store_url, tmp_path, monkeypatch) -> str:
    """A `dev` stage as `bull setup` and `bull stripe webhook` leave it: its environment
    names moto's pool and the served app."""
    env = {k: v for k, v in TEST_ENV.items() if not k.startswith("AWS_")}
    env.update(USER_POOL_ID=pool.pool_id, USER_POOL_CLIENT_ID=pool.client_id, SITE_URL=store_url)
    config = tmp_path / ".chalice" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"stages": {"dev": {"environment_variables": env}}}))
    monkeypatch.setenv("BULL_PROJECT_DIR", str(tmp_path))  # where `bull` finds .chalice/
    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
    return "dev"


def new_admin(pool, email: str) -> None:
    """An admin as `bull admin add EMAIL` leaves one: FORCE_CHANGE_PASSWORD, in `admins`."""
    pool.cognito.admin_create_user(
        UserPoolId=pool.pool_id,
        Username=email,
        TemporaryPassword=TEMPORARY,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
    )
    pool.cognito.admin_add_user_to_group(
        UserPoolId=pool.pool_id, Username=email, GroupName="admins"
    )


def signs_in(pool, email: str, password: str) -> dict:
    return pool.cognito.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )


def bull(*args: str, input=None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), input=input)


def report(email: str, password: str, input=None):  # type: ignore[no-untyped-def]
    return bull("report", "--stage", "dev", "--email", email, "--password", password, input=input)


def one_line_failure(result, words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr


def printed_a_report(result) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("date")))
    assert lines[header].split() == ["date", "orders", "gross", "refunded", "net"]
    assert lines[-1].split()[0] == "total" and len(lines) - header - 1 == 30 + 1


def reset_code(pool, email: str) -> str:
    """The code moto's ForgotPassword "mailed" (stored on the user)."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    backend = get_backend("cognito-idp")[DEFAULT_ACCOUNT_ID][REGION]
    return backend.user_pools[pool.pool_id]._get_user(email).confirmation_code


# -- first sign-in with a temporary password ------------------------------------------------


def test_first_sign_in_sets_a_new_password_then_report_works(pool, stage):
    email = "new-admin@example.test"
    new_admin(pool, email)
    assert signs_in(pool, email, TEMPORARY)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"

    result = report(email, TEMPORARY, input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    printed_a_report(result)
    assert "choose a new password" in result.output
    assert NEW_PASSWORD not in result.output  # asked hidden

    user = pool.cognito.admin_get_user(UserPoolId=pool.pool_id, Username=email)
    assert user["UserStatus"] == "CONFIRMED"
    assert signs_in(pool, email, NEW_PASSWORD)["AuthenticationResult"]["IdToken"]
    printed_a_report(report(email, NEW_PASSWORD))  # no questions asked the second time
    one_line_failure(report(email, TEMPORARY), "sign-in failed: wrong email or password")


def test_a_new_password_cognito_refuses_is_one_line(pool, stage):
    email = "weak@example.test"
    new_admin(pool, email)
    result = report(email, TEMPORARY, input="short\nshort\n")
    one_line_failure(result, "Cognito refused the new password")
    status = pool.cognito.admin_get_user(UserPoolId=pool.pool_id, Username=email)["UserStatus"]
    assert status == "FORCE_CHANGE_PASSWORD"


@pytest.mark.parametrize(
    ("email", "password"),
    [(ADMIN_EMAIL, "Wrong-Password-99"), ("nobody@example.test", SELLER_PASSWORD)],
    ids=["wrong password", "unknown user"],
)
def test_wrong_password_or_unknown_user_is_one_clear_line(pool, stage, email, password):
    one_line_failure(report(email, password), "sign-in failed: wrong email or password")


# -- forgotten password ----------------------------------------------------------------------


def test_forgot_password_resets_it_with_the_mailed_code(pool, stage):
    result = bull(
        "admin",
        "forgot-password",
        ADMIN_EMAIL,
        "--stage",
        "dev",
        input=Later(lambda: f"{reset_code(pool, ADMIN_EMAIL)}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n"),
    )
    assert result.exit_code == 0, result.output
    assert "mailed a code" in result.output and "Password changed" in result.output
    assert signs_in(pool, ADMIN_EMAIL, NEW_PASSWORD)["AuthenticationResult"]
    printed_a_report(report(ADMIN_EMAIL, NEW_PASSWORD))


def test_forgot_password_with_a_wrong_code_changes_nothing(pool, stage):
    def wrong() -> str:
        number = int(reset_code(pool, ADMIN_EMAIL).rsplit(":", 1)[1])
        return (
            f"moto-confirmation-code:{number % 899_999 + 100_001}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
        )

    result = bull("admin", "forgot-password", ADMIN_EMAIL, "--stage", "dev", input=Later(wrong))
    one_line_failure(result, "password not changed: that code is wrong")
    assert signs_in(pool, ADMIN_EMAIL, SELLER_PASSWORD)["AuthenticationResult"]


def test_forgot_password_with_cognito_unreachable_is_one_line(pool, stage, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = bull("admin", "forgot-password", ADMIN_EMAIL, "--stage", "dev")
    one_line_failure(result, "cannot reach Cognito")


# -- TOTP MFA --------------------------------------------------------------------------------


def turn_on_mfa(email: str, password: str, code: Callable[[], str]):  # type: ignore[no-untyped-def]
    return bull(
        "admin",
        "mfa",
        email,
        "--stage",
        "dev",
        "--password",
        password,
        input=Later(lambda: code() + "\n"),
    )


def test_mfa_on_then_every_sign_in_needs_a_code(pool, stage):
    result = turn_on_mfa(ADMIN_EMAIL, SELLER_PASSWORD, fresh_totp)
    assert result.exit_code == 0, result.output
    assert f"key: {MOTO_TOTP_SECRET}" in result.output
    assert (
        f"otpauth://totp/Bull%20Store:{ADMIN_EMAIL}?secret={MOTO_TOTP_SECRET}&issuer=Bull%20Store"
        in result.output
    )
    assert "MFA is on" in result.output

    assert signs_in(pool, ADMIN_EMAIL, SELLER_PASSWORD)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    one_line_failure(
        report(ADMIN_EMAIL, SELLER_PASSWORD, input=Later(lambda: wrong_totp() + "\n")),
        "sign-in failed: that code is wrong",
    )
    printed_a_report(report(ADMIN_EMAIL, SELLER_PASSWORD, input=Later(lambda: fresh_totp() + "\n")))


def test_mfa_with_a_wrong_code_stays_off(pool, stage):
    one_line_failure(
        turn_on_mfa(ADMIN_EMAIL, SELLER_PASSWORD, wrong_totp),
        "MFA not turned on: that code is wrong",
    )
    assert "AuthenticationResult" in signs_in(pool, ADMIN_EMAIL, SELLER_PASSWORD)


def test_first_sign_in_then_mfa_then_sign_in_with_both(pool, stage):
    """An admin added without a password turns MFA on at once: `bull admin mfa` answers the
    new-password challenge first, then sets up TOTP."""
    email = "careful@example.test"
    new_admin(pool, email)
    result = turn_on_mfa(
        email, TEMPORARY, lambda: f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n{fresh_totp()}"
    )
    assert result.exit_code == 0, result.output
    answer = signs_in(pool, email, NEW_PASSWORD)
    assert answer["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_the_totp_helper_matches_rfc_6238():
    # RFC 6238 appendix B, SHA-1 key "12345678901234567890", last 6 digits.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp(secret, at=59) == "287082"
    assert totp(secret, at=1111111109) == "081804"
    assert totp(secret, at=2000000000) == "279037"
