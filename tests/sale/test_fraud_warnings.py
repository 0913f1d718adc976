"""Radar's early fraud warnings (issue 11): recorded on the purchase and shown to the seller;
with REFUND_ON_FRAUD_WARNING=true an actionable one refunds the payment, exactly once."""

from __future__ import annotations

import json

import pytest

from chalicelib.payments.checkout import Checkout
from chalicelib.platform.tables import Purchase
from tests.helpers import INTENT, SESSION, Outage, charge, deliver, fresh_store, stripe_event


def _warning(warning_id: str = "issfr_1", actionable: bool = True, **extra) -> dict:
    return {
        "id": warning_id,
        "object": "radar.early_fraud_warning",
        "actionable": actionable,
        "charge": "ch_1",
        "created": 1764000000,
        "fraud_type": "made_with_stolen_card",
        "livemode": False,
        "payment_intent": INTENT,
        **extra,
    }


def _warn(client, warning: dict) -> tuple[int, str]:
    answer = deliver(client, stripe_event("radar.early_fraud_warning.created", warning))
    result = json.loads(answer.body).get("result", "") if answer.status_code == 200 else ""
    return answer.status_code, result


@pytest.fixture
def refunding(monkeypatch, clock):
    """REFUND_ON_FRAUD_WARNING=true, and Stripe's refunds as Stripe keeps them: one refund per
    idempotency key. `calls` lists each request's (payment intent, key)."""
    monkeypatch.setenv("REFUND_ON_FRAUD_WARNING", "true")
    fresh_store(clock)
    calls: list[tuple[str, str | None]] = []
    made: dict[str | None, str] = {}

    def refund(self, payment_intent, idempotency_key=None):
        calls.append((payment_intent, idempotency_key))
        return made.setdefault(idempotency_key, f"re_fraud_{len(made) + 1}")

    monkeypatch.setattr(Checkout, "refund", refund)
    return calls


def test_a_warning_is_recorded_and_shown_to_the_seller(client, paid_token, admin):
    """Before: nothing was recorded for radar.early_fraud_warning.created."""
    assert _warn(client, _warning()) == (200, "fraud_warning")
    assert _warn(client, _warning()) == (200, "duplicate")
    shown = client.http.get(f"/admin/purchases/{SESSION}", headers=admin)
    purchase = json.loads(shown.body)["purchase"]
    assert purchase["fraud_warnings"] == [
        {
            "id": "issfr_1",
            "fraud_type": "made_with_stolen_card",
            "actionable": True,
            "at": purchase["fraud_warnings"][0]["at"],
            "refund_id": None,
        }
    ]
    assert purchase["fraud_warning"].startswith("Early fraud warning (made with stolen card) ")
    # Only recorded: without the setting the store refunds nothing, and the link still works.
    assert client.http.post(f"/download/{paid_token}").status_code == 303


def test_a_warning_naming_only_its_expanded_charge_is_found_through_it(client, paid_token):
    warning = _warning(payment_intent=None, charge={"id": "ch_1", "payment_intent": INTENT})
    assert _warn(client, warning) == (200, "fraud_warning")
    assert [w.warning_id for w in Purchase.get(SESSION).fraud_warnings] == ["issfr_1"]


def test_a_warning_of_another_payment_is_ignored(client, paid_token):
    warning = _warning(payment_intent="pi_elsewhere")
    other = stripe_event("radar.early_fraud_warning.created", warning, created=1764000000)
    answer = deliver(client, other)
    assert answer.status_code == 200 and json.loads(answer.body)["result"] == "ignored"


def test_with_the_setting_an_actionable_warning_refunds_once(client, paid_token, refunding):
    assert _warn(client, _warning()) == (200, "refund_requested")
    for _ in range(2):  # Stripe delivers again: recorded, so nothing is asked
        assert _warn(client, _warning()) == (200, "duplicate")
    assert refunding == [(INTENT, "fraud-warning-issfr_1")]
    [warning] = Purchase.get(SESSION).fraud_warnings
    assert warning.refund_id == "re_fraud_1"
    # Stripe's charge.refunded then kills the link, as for any refund.
    deliver(client, stripe_event("charge.refunded", charge(1999)))
    assert client.http.post(f"/download/{paid_token}").status_code == 410


def test_a_warning_that_is_not_actionable_refunds_nothing(client, paid_token, refunding):
    assert _warn(client, _warning(actionable=False)) == (200, "fraud_warning")
    assert refunding == []


def test_a_refund_made_but_not_recorded_is_asked_again_under_the_same_key(
    client, paid_token, refunding, monkeypatch
):
    """The store fails between Stripe's refund and recording it: the redelivery asks Stripe
    again with the same idempotency key, and Stripe answers with the refund it made."""
    Outage(monkeypatch, "TransactWriteItems", nth=2)  # the warning is recorded; its refund not
    assert _warn(client, _warning())[0] == 503
    assert _warn(client, _warning()) == (200, "refund_requested")
    assert refunding == [(INTENT, "fraud-warning-issfr_1")] * 2
    assert Purchase.get(SESSION).fraud_warnings[0].refund_id == "re_fraud_1"


def test_a_payment_already_refunded_is_not_refunded_again(client, paid_token, refunding):
    deliver(client, stripe_event("charge.refunded", charge(1999)))
    assert _warn(client, _warning()) == (200, "refund_requested")
    assert refunding == []
    assert Purchase.get(SESSION).fraud_warnings[0].refund_id == "already_refunded"


def test_the_refund_goes_through_stripe(client, paid_token, stripe_api, monkeypatch, clock):
    """End to end with the Stripe stand-in: one refund of the whole charge."""
    monkeypatch.setenv("REFUND_ON_FRAUD_WARNING", "true")
    fresh_store(clock)
    stripe_api.charges["ch_1"] = charge()
    sent = []
    stripe_api.deliver = lambda kind, obj: sent.append((kind, obj)) or 200
    assert _warn(client, _warning()) == (200, "refund_requested")
    assert _warn(client, _warning()) == (200, "duplicate")
    assert stripe_api.charges["ch_1"]["amount_refunded"] == 1999
    assert [kind for kind, _ in sent] == ["charge.refunded"]
