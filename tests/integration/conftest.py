"""A whole local stack (moto server, Stripe stand-in, chalice local) on free ports, once per
test session, stopped by PID at the end whatever happened."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bull_chalice.commands.local import latest_receipts
from bull_chalice.local import LocalStack, LocalState
from bull_chalice.processes import free_port
from chalicelib.platform import config

SHAPES = ["make run", "make rehearse"]
# Every test buyer comes from 127.0.0.1, where real buyers each have their own address, and the
# shared stack serves a whole session's buyers: its per-client limits are raised out of the way
# (the limits are tested in tests/platform/test_limits.py and tests/sale/test_thanks.py).
UNLIMITED = {name: "100000" for name in config.LIMIT_SETTINGS}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, driven by Playwright."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session", params=SHAPES)
def local_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """The store as `make run` serves it (`chalice local` at `/`) and as `make rehearse` does
    (the packaged artifact behind API Gateway's events under `/api`): every test that uses it
    runs against both."""
    workdir = tmp_path_factory.mktemp("stack")
    local = LocalStack(
        app_port=free_port(),
        moto_port=free_port(),
        stripe_port=free_port(),
        state_file=workdir / "local.json",
        log_dir=workdir / "logs",
        rehearse=request.param == "make rehearse",
        selling=UNLIMITED,
    )
    try:
        local.start()
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def stack(local_stack: LocalStack) -> LocalState:
    return local_stack.state


class Buyer:
    """A buyer's browser, reduced to HTTP: no redirects followed unless asked."""

    def __init__(self, state: LocalState) -> None:
        self.state = state
        self.http = requests.Session()

    def checkout(self, product_id: str, **fields: Any) -> requests.Response:
        return self.http.post(
            f"{self.state.api_url}/checkout/{product_id}",
            data=fields,
            allow_redirects=False,
            timeout=30,
        )

    def buy(self, email: str) -> str:
        """Check out the demo product and pay on the stand-in; the session id."""
        answer = self.checkout(self.state.demo_product_id, email=email)
        assert answer.status_code == 303, answer.text
        pay_url = answer.headers["Location"]
        paid = self.http.post(pay_url, allow_redirects=False, timeout=60)
        assert paid.status_code == 303
        return re.search(r"session_id=(cs_[A-Za-z0-9_]+)", paid.headers["Location"]).group(1)

    def receipt_for(self, email: str, timeout: float = 10.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mails = [m for m in latest_receipts(self.state.moto_url, 500) if m["to"] == email]
            if mails:
                return mails[0]
            time.sleep(0.2)
        raise AssertionError(f"no receipt for {email}")


@pytest.fixture
def buyer(stack: LocalState) -> Buyer:
    return Buyer(stack)


def receipts_to(state: LocalState, email: str) -> list[dict[str, str]]:
    return [m for m in latest_receipts(state.moto_url, 1000) if m["to"] == email]
