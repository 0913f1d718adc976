"""The local stack's settings from the operator's environment (no services started)."""

from __future__ import annotations

import pytest

from bull_chalice.local import LocalStack


@pytest.fixture
def operator_env(monkeypatch, tmp_path):
    monkeypatch.setenv("BULL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("BULL_ADMIN_EMAIL", "owner@example.test")
    monkeypatch.delenv("NOTIFY_EMAIL", raising=False)
    return monkeypatch


def test_the_local_admin_gets_the_sellers_notices_by_default(operator_env):
    assert LocalStack.from_environment().notify_email == "owner@example.test"


@pytest.mark.parametrize(("given", "notify"), [("me@example.test", "me@example.test"), ("", "")])
def test_notify_email_from_the_environment_overrides_or_turns_notices_off(
    operator_env, given, notify
):
    operator_env.setenv("NOTIFY_EMAIL", given)
    assert LocalStack.from_environment().notify_email == notify
