"""`bull` against the running local stack: reports over HTTP with a real Cognito sign-in,
products added through the same code path as production, and receipts from `bull mail`."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from click.testing import CliRunner

from bull_chalice.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def local_state(local_stack, monkeypatch):
    monkeypatch.setenv("BULL_STATE_FILE", str(local_stack.state_file))
    return local_stack.state


def _report(state, password):
    args = ["report", "--stage", "local", "--email", state.admin_email, "--password", password]
    return CliRunner().invoke(main, args)


def test_bull_report_signs_in_and_prints_todays_sale(local_state, buyer):
    buyer.buy(f"report-{uuid.uuid4().hex[:6]}@example.com")
    result = _report(local_state, local_state.admin_password)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["date", "orders", "gross", "refunded", "net"]
    assert len(lines) == 2 + 30 + 1
    total = lines[-1].split()
    assert total[0] == "total" and int(total[1]) >= 1


def test_bull_report_with_a_wrong_password_fails_clearly(local_state):
    result = _report(local_state, "wrong-Password-1")
    assert result.exit_code == 1 and "sign-in failed" in result.output


def test_bull_product_add_puts_a_product_on_sale_locally(local_state, tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("course notes")
    name = f"Notes {uuid.uuid4().hex[:6]}"
    result = CliRunner().invoke(
        main,
        [
            "product",
            "add",
            "--stage",
            "local",
            "--name",
            name,
            "--price",
            "5.00",
            "--file",
            str(file),
        ],
    )
    assert result.exit_code == 0, result.output
    products = requests.get(f"{local_state.api_url}/products", timeout=10).json()["products"]
    assert {"name": name, "price_cents": 500} in [
        {"name": p["name"], "price_cents": p["price_cents"]} for p in products
    ]


def test_bull_mail_prints_the_latest_receipt(local_state, buyer):
    email = f"mail-{uuid.uuid4().hex[:6]}@example.com"
    buyer.buy(email)
    buyer.receipt_for(email)
    result = CliRunner().invoke(main, ["mail", "--limit", "50"])
    assert result.exit_code == 0 and email in result.output and "/download/" in result.output


def test_bull_mail_prints_a_library_mails_sign_in_link(local_state, buyer):
    email = f"shelf-{uuid.uuid4().hex[:6]}@example.com"
    buyer.buy(email)
    buyer.receipt_for(email)
    asked = requests.post(f"{local_state.api_url}/library", data={"email": email}, timeout=30)
    assert asked.status_code == 200
    result = CliRunner().invoke(main, ["mail", "--limit", "50"])
    assert result.exit_code == 0
    blocks = [b for b in result.output.split("\n\n") if f"To:      {email}" in b]
    assert any(f"Link:    {local_state.api_url}/library/" in b for b in blocks), blocks


def test_bull_buyer_exports_and_erases_a_buyer_of_the_local_store(local_state, buyer):
    email = f"Privacy-{uuid.uuid4().hex[:6]}@Example.com"
    session_id = buyer.buy(email)
    buyer.receipt_for(email.lower())  # purchases record an address in lower case
    exported = CliRunner().invoke(main, ["buyer", "export", email, "--stage", "local"])
    assert exported.exit_code == 0, exported.output
    [purchase] = json.loads(exported.stdout)["purchases"]
    assert purchase["order_id"] == session_id and purchase["email"] == email.lower()
    erased = CliRunner().invoke(main, ["buyer", "erase", email, "--stage", "local", "--yes"])
    assert erased.exit_code == 0, erased.output
    assert f"address removed from 1 order(s): {session_id}" in erased.output
    after = CliRunner().invoke(main, ["buyer", "export", email, "--stage", "local"])
    assert json.loads(after.stdout)["found"] is False


def test_the_local_admin_gets_the_sellers_notices_and_a_summary_on_demand(local_state, buyer):
    from datetime import UTC, datetime

    from bull_chalice.commands.local import latest_receipts

    email = f"notice-{uuid.uuid4().hex[:6]}@example.com"
    session_id = buyer.buy(email)
    buyer.receipt_for(email)
    to_admin = [
        m for m in latest_receipts(local_state.moto_url, 500) if m["to"] == local_state.admin_email
    ]
    assert any(m["subject"].startswith("[Bull Local Store] New sale: ") for m in to_admin)
    assert session_id  # the sale the notice is about
    today = datetime.now(UTC).date().isoformat()  # the local stack reports in UTC
    result = CliRunner().invoke(main, ["notify", "summary", "--stage", "local", "--date", today])
    assert result.exit_code == 0, result.output
    assert f"Mailed {local_state.admin_email}: Daily summary {today}: " in result.output
    listed = CliRunner().invoke(main, ["mail", "--limit", "5"])
    assert f"Daily summary {today}" in listed.output
