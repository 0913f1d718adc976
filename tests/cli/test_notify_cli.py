"""`bull notify summary`: the daily summary on demand, for any day, against a stage's tables
(moto, in-process), the same notice the scheduled handler mails."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from click.testing import CliRunner

from bull_chalice.cli import main
from tests.helpers import TEST_ENV, sell, sent_emails

SELLER = "seller@example.test"


@pytest.fixture
def stage(aws, tmp_path, monkeypatch):
    """Stage dev, set up on the test's tables with NOTIFY_EMAIL (as `bull setup` records it)."""
    names = ("PRODUCTS_TABLE", "PURCHASES_TABLE", "LINKS_TABLE", "SALES_TABLE", "BULL_STAGE")
    environment = {name: TEST_ENV[name] for name in names}
    environment.update(NOTIFY_EMAIL=SELLER, SENDER_EMAIL=TEST_ENV["SENDER_EMAIL"])
    (tmp_path / ".chalice").mkdir()
    config = {"stages": {"dev": {"environment_variables": environment}}}
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("BULL_PROJECT_DIR", str(tmp_path))


def bull(*args: str):
    return CliRunner().invoke(main, ["notify", "summary", "--stage", "dev", *args])


def _epoch(day: str) -> int:
    return int(datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp())


def test_the_summary_of_a_given_day_is_mailed_to_notify_email(stage, client, product):
    sell(client, product.id, session_id="cs_1", payment_intent="pi_1", created=_epoch("2026-11-20"))
    result = bull("--date", "2026-11-20")
    assert result.exit_code == 0, result.output
    assert "Mailed seller@example.test: Daily summary 2026-11-20: 1 order, net $19.99" in (
        result.output
    )
    [mail] = [m for m in sent_emails() if "Daily summary" in m.subject]
    assert mail.destinations["ToAddresses"] == [SELLER]


def test_another_address_and_an_empty_day(stage, client):
    result = bull("--date", "2026-11-19", "--to", "me@example.test")
    assert result.exit_code == 0, result.output
    [mail] = sent_emails()
    assert mail.destinations["ToAddresses"] == ["me@example.test"]
    assert mail.subject.endswith("Daily summary 2026-11-19: no sales")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--date", "yesterday"], "a day like 2026-11-24"),
        (["--date", "2026-11-20", "--to", "not an address"], "one address like"),
    ],
)
def test_a_bad_day_or_address_is_refused_and_nothing_is_sent(stage, client, args, says):
    result = bull(*args)
    assert result.exit_code == 2 and says in result.output
    assert sent_emails() == []


def test_a_stage_without_notify_email_says_how_to_set_it(stage, client, tmp_path):
    path = tmp_path / ".chalice" / "config.json"
    config = json.loads(path.read_text())
    del config["stages"]["dev"]["environment_variables"]["NOTIFY_EMAIL"]
    path.write_text(json.dumps(config))
    result = bull("--date", "2026-11-20")
    assert result.exit_code == 1 and "bull setup --stage dev --notify-email" in result.output
    assert sent_emails() == []
