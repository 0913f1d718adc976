"""The local store keeps its data across restarts, in its own state dir: a purchase, its link,
its receipt and the report survive Ctrl-C and SIGKILL alike; `BULL_FRESH=1` starts empty; two
stacks with different state dirs never touch each other."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bull_chalice.commands.local import latest_receipts
from bull_chalice.local import LocalStack, LocalState, local_client
from bull_chalice.processes import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _stack(state_dir: Path, fresh: bool = False) -> LocalStack:
    ports = {"app_port": free_port(), "moto_port": free_port(), "stripe_port": free_port()}
    return LocalStack(**ports, state_dir=state_dir, fresh=fresh)


def _buy(state: LocalState, email: str) -> str:
    """Check out and pay on the stand-in; the session id."""
    checkout = requests.post(
        f"{state.api_url}/checkout/{state.demo_product_id}",
        data={"email": email},
        allow_redirects=False,
        timeout=30,
    )
    paid = requests.post(checkout.headers["Location"], allow_redirects=False, timeout=60)
    return re.search(r"session_id=(cs_\w+)", paid.headers["Location"]).group(1)


def _orders_today(state: LocalState) -> int:
    cognito = local_client(state, "cognito-idp")
    signed_in = cognito.initiate_auth(
        ClientId=state.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": state.admin_email, "PASSWORD": state.admin_password},
    )
    token = signed_in["AuthenticationResult"]["IdToken"]
    report = requests.get(f"{state.api_url}/reports", headers={"Authorization": token}, timeout=30)
    return report.json()["totals"]["orders"]


def _as_before(state: LocalState, before: LocalState, email: str, session_id: str) -> None:
    """The purchase, its link, its receipt and the report are all there again."""
    [mail] = [m for m in latest_receipts(state.moto_url, 50) if m["to"] == email]
    link = mail["link"].replace(before.api_url, state.api_url)  # the new run's ports
    assert requests.get(link, timeout=30).status_code == 200
    thanks = requests.get(f"{state.api_url}/thanks", params={"session_id": session_id}, timeout=30)
    assert thanks.status_code == 200 and "Thank you" in thanks.text
    assert _orders_today(state) == 1


def test_a_purchase_survives_stopping_and_starting_the_stack(tmp_path):
    first = _stack(tmp_path)
    before = first.start()
    try:
        session_id = _buy(before, "kept@example.com")
    finally:
        first.stop()
    again = _stack(tmp_path)
    try:
        _as_before(again.start(), before, "kept@example.com", session_id)
    finally:
        again.stop()


STARTER = """
import json, sys, time
from pathlib import Path
from bull_chalice.local import LocalStack
from bull_chalice.processes import free_port
stack = LocalStack(app_port=free_port(), moto_port=free_port(), stripe_port=free_port(),
                   state_dir=Path(sys.argv[1]))
state = stack.start()
print(json.dumps(state.__dict__), flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux")
def test_a_purchase_survives_the_whole_stack_killed_with_sigkill(tmp_path):
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        before = LocalState(**json.loads(starter.stdout.readline()))
        session_id = _buy(before, "killed@example.com")
        assert [m for m in latest_receipts(before.moto_url, 50) if m["to"] == "killed@example.com"]
    finally:
        starter.send_signal(signal.SIGKILL)  # no clean-up runs: the kernel ends the servers
        starter.wait(timeout=10)
    port = int(before.moto_url.rsplit(":", 1)[1])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _listening(port):
        time.sleep(0.2)
    again = _stack(tmp_path)
    try:
        _as_before(again.start(), before, "killed@example.com", session_id)
    finally:
        again.stop()


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_bull_fresh_starts_empty(tmp_path):
    first = _stack(tmp_path)
    before = first.start()
    try:
        _buy(before, "gone@example.com")
    finally:
        first.stop()
    fresh = _stack(tmp_path, fresh=True)
    try:
        state = fresh.start()
        assert latest_receipts(state.moto_url, 50) == []
        assert _orders_today(state) == 0
        products = requests.get(f"{state.api_url}/products", timeout=30).json()["products"]
        assert [p["id"] for p in products] == [state.demo_product_id]  # seeded anew
    finally:
        fresh.stop()


def test_two_stacks_side_by_side_keep_to_their_own_files(tmp_path):
    one, two = _stack(tmp_path / "one"), _stack(tmp_path / "two")
    first, second = one.start(), two.start()
    try:
        one.stop()
        assert not (tmp_path / "one" / "local.json").exists()
        assert json.loads((tmp_path / "two" / "local.json").read_text())["api_url"] == (
            second.api_url
        )
        assert (tmp_path / "two" / "logs" / "app.log").exists()
        assert requests.get(f"{second.api_url}/products", timeout=30).status_code == 200
        assert first.api_url != second.api_url
    finally:
        two.stop()
        one.stop()
