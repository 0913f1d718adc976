"""`bull buyer export|erase EMAIL`: a buyer's privacy requests from the operator's shell,
against a stage's tables (moto, in-process), with the same service the store runs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bull_chalice.cli import main
from chalicelib.platform.tables import Purchase
from tests.helpers import TEST_ENV, mailed_token, sell

BUYER = "Buyer@Example.test"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def stage(aws, tmp_path, monkeypatch):
    """Stage dev, set up on the test's tables (as `bull setup` records them)."""
    names = ("PRODUCTS_TABLE", "PURCHASES_TABLE", "LINKS_TABLE", "SALES_TABLE", "BULL_STAGE")
    environment = {name: TEST_ENV[name] for name in names}
    (tmp_path / ".chalice").mkdir()
    config = {"stages": {"dev": {"environment_variables": environment}}}
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("BULL_PROJECT_DIR", str(tmp_path))


@pytest.fixture
def bought(stage, client, product):
    """BUYER bought twice, downloaded once and asked the library; someone else bought too."""
    sell(client, product.id, session_id="cs_b1", payment_intent="pi_b1", email=BUYER)
    sell(client, product.id, session_id="cs_b2", payment_intent="pi_b2", email=BUYER)
    sell(client, product.id, session_id="cs_o1", payment_intent="pi_o1", email="o@example.test")
    download = client.http.post(f"/download/{mailed_token(0)}", headers={"User-Agent": "Phone"})
    assert download.status_code == 303
    assert client.http.post("/library", body=f"email={BUYER}", headers=FORM).status_code == 200


def bull(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def test_export_prints_everything_held_as_json(bought):
    result = bull("buyer", "export", "buyer@example.TEST", "--stage", "dev")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["found"] and [p["order_id"] for p in data["purchases"]] == ["cs_b1", "cs_b2"]
    assert data["purchases"][0]["links"][0]["downloads"][0]["user_agent"] == "Phone"
    assert data["library_sign_in_links"]["live"] == 1
    assert "cs_o1" not in result.stdout


def test_export_of_an_address_the_store_never_saw_says_so(stage):
    result = bull("buyer", "export", "nobody@example.test")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["found"] is False
    assert "holds nothing about nobody@example.test" in result.stderr


def test_erase_asks_first_and_no_keeps_everything(bought):
    result = bull("buyer", "erase", BUYER, input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert "2 orders (cs_b1, cs_b2)" in result.output and "Erase the address" in result.output
    assert Purchase.get("cs_b1").email == BUYER.lower()  # as purchases record an address


def test_erase_confirmed_removes_the_address_and_says_what_it_removed(bought):
    result = bull("buyer", "erase", "buyer@example.test", input="y\n")
    assert result.exit_code == 0, result.output
    assert "address removed from 2 order(s): cs_b1, cs_b2" in result.output
    assert "from 1 download(s) on 1 link(s)" in result.output
    assert "library sign-in links deleted: 1" in result.output
    assert Purchase.get("cs_b1").email is None and Purchase.get("cs_o1").email == "o@example.test"
    after = json.loads(bull("buyer", "export", BUYER).stdout)
    assert after["found"] is False


def test_erase_with_yes_asks_nothing_and_a_rerun_finds_nothing(bought):
    first = bull("buyer", "erase", BUYER, "--yes")
    assert first.exit_code == 0 and "Erased buyer@example.test" in first.output
    assert "[y/N]" not in first.output
    again = bull("buyer", "erase", BUYER, "--yes")
    assert again.exit_code == 0
    assert "holds nothing about buyer@example.test: nothing to erase" in again.output


def test_erase_of_an_unknown_address_asks_nothing(stage):
    result = bull("buyer", "erase", "nobody@example.test")
    assert result.exit_code == 0 and "nothing to erase" in result.output


@pytest.mark.parametrize("command", ["export", "erase"])
@pytest.mark.parametrize("email", ["not-an-address", "a b@example.test", ""])
def test_a_malformed_address_is_a_usage_error(stage, command, email):
    result = bull("buyer", command, email, "--yes" if command == "erase" else "--stage=dev")
    assert result.exit_code == 2 and "EMAIL" in result.output


def test_a_stage_never_set_up_says_so(stage):
    result = bull("buyer", "export", BUYER, "--stage", "prod")
    assert result.exit_code == 1
    assert "stage prod is not set up" in result.stderr
