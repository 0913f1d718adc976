"""The seller's desk: purchases found by email, their link and download log, and the actions
on them (resend, reset, revoke, refund). Products: tests/catalog/test_products.py."""

from __future__ import annotations

import json

import pytest

from chalicelib.platform.tables import DownloadLink, Purchase
from tests.helpers import (
    charge,
    deliver,
    error_of,
    mailed_token,
    send_json,
    sent_emails,
    stripe_event,
)


def _post(client, path, headers):
    return send_json(client, "POST", path, headers)


def test_purchases_are_found_by_email_and_listed_as_recent(client, admin, paid_token):
    found = json.loads(
        client.http.get("/admin/purchases?email=buyer@example.test", headers=admin).body
    )
    recent = json.loads(client.http.get("/admin/purchases", headers=admin).body)
    assert [p["id"] for p in found["purchases"]] == ["cs_test_a1"]
    assert [p["id"] for p in recent["purchases"]] == ["cs_test_a1"]
    assert found["purchases"][0]["amount_cents"] == 1999
    nobody = json.loads(
        client.http.get("/admin/purchases?email=x@example.test", headers=admin).body
    )
    assert nobody["purchases"] == []


def test_purchase_detail_shows_the_download_log(client, admin, paid_token):
    client.http.post(f"/download/{paid_token}", headers={"User-Agent": "Evidence/1.0"})
    detail = json.loads(client.http.get("/admin/purchases/cs_test_a1", headers=admin).body)
    purchase = detail["purchase"]
    assert purchase["downloads_left"] == 4
    assert [entry["user_agent"] for entry in purchase["download_log"]] == ["Evidence/1.0"]


def test_a_link_with_no_downloads_left_shows_as_used_up_then_expired_in_list_and_detail(
    client, admin, paid_token, clock
):
    from datetime import timedelta

    def states():
        listed = json.loads(client.http.get("/admin/purchases", headers=admin).body)
        found = json.loads(
            client.http.get("/admin/purchases?email=BUYER@example.test", headers=admin).body
        )
        detail = json.loads(client.http.get("/admin/purchases/cs_test_a1", headers=admin).body)
        return {listed["purchases"][0]["state"], found["purchases"][0]["state"],
                detail["purchase"]["state"]}  # fmt: skip

    assert states() == {"active"}
    for _ in range(5):
        client.http.post(f"/download/{paid_token}")
    assert states() == {"used_up"}
    detail = json.loads(client.http.get("/admin/purchases/cs_test_a1", headers=admin).body)
    assert detail["purchase"]["state_label"] == "used up"
    assert "reset" in detail["purchase"]["actions"]  # the seller can give downloads back
    assert _post(client, "/admin/purchases/cs_test_a1/reset", admin).status_code == 200
    assert states() == {"active"}
    clock.advance(timedelta(days=31))
    assert states() == {"expired"}


def test_resend_mails_a_new_link_and_kills_the_old_one(client, admin, paid_token):
    client.http.post(f"/download/{paid_token}")
    answer = _post(client, "/admin/purchases/cs_test_a1/resend", admin)
    assert answer.status_code == 200
    assert len(sent_emails()) == 2
    new = mailed_token(1)
    assert new != paid_token
    gone = client.http.post(f"/download/{paid_token}")
    assert gone.status_code == 410 and "newer link" in gone.body.decode()
    assert "4 downloads left" in client.http.get(f"/download/{new}").body.decode()


def test_a_download_during_a_resend_is_not_given_back(client, admin, paid_token, monkeypatch):
    from pynamodb.connection import Connection

    real = Connection._make_api_call
    raced = []

    def download_first(conn, operation, kwargs):
        if operation == "TransactWriteItems" and not raced:
            # The buyer clicks after the resend read the old link, before its commit lands.
            raced.append(client.http.post(f"/download/{paid_token}").status_code)
        return real(conn, operation, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", download_first)
    assert _post(client, "/admin/purchases/cs_test_a1/resend", admin).status_code == 200
    assert raced == [303]
    assert DownloadLink.get(Purchase.get("cs_test_a1").token_hash).downloads_left == 4


def test_reset_restores_downloads_and_revoke_kills_the_link(client, admin, paid_token):
    for _ in range(5):
        client.http.post(f"/download/{paid_token}")
    assert client.http.post(f"/download/{paid_token}").status_code == 410
    assert _post(client, "/admin/purchases/cs_test_a1/reset", admin).status_code == 200
    assert DownloadLink.get(Purchase.get("cs_test_a1").token_hash).downloads_left == 5
    assert client.http.post(f"/download/{paid_token}").status_code == 303
    assert _post(client, "/admin/purchases/cs_test_a1/revoke", admin).status_code == 200
    assert client.http.post(f"/download/{paid_token}").status_code == 410


@pytest.fixture
def delivered(stripe_api):
    """The stand-in holds the sale's charge; the events it would send are captured here."""
    stripe_api.charges["ch_1"] = charge()
    events = []
    stripe_api.deliver = lambda kind, obj: events.append((kind, obj)) or 200
    return events


def test_refund_button_asks_stripe_and_the_webhook_kills_the_link(
    client, admin, paid_token, delivered
):
    assert _post(client, "/admin/purchases/cs_test_a1/refund", admin).status_code == 200
    assert delivered[0][0] == "charge.refunded" and delivered[0][1]["amount_refunded"] == 1999
    deliver(client, stripe_event("charge.refunded", delivered[0][1]))
    assert client.http.post(f"/download/{paid_token}").status_code == 410


def test_a_second_refund_click_is_409_and_refunds_nothing_more(
    client, admin, paid_token, stripe_api, delivered
):
    assert _post(client, "/admin/purchases/cs_test_a1/refund", admin).status_code == 200
    # Stripe's charge.refunded has not reached the store yet: Stripe itself says no.
    again = _post(client, "/admin/purchases/cs_test_a1/refund", admin)
    assert again.status_code == 409
    assert json.loads(again.body)["error"]["code"] == "already_refunded"
    deliver(client, stripe_event("charge.refunded", delivered[0][1]))
    # Once it has, the store knows without asking Stripe.
    assert _post(client, "/admin/purchases/cs_test_a1/refund", admin).status_code == 409
    assert len(delivered) == 1
    assert stripe_api.charges["ch_1"]["amount_refunded"] == 1999


@pytest.mark.parametrize("action", ["resend", "reset", "revoke", "refund"])
def test_actions_on_an_unknown_purchase_are_404(client, admin, aws, action):
    answer = _post(client, f"/admin/purchases/cs_test_nope/{action}", admin)
    assert answer.status_code == 404
    assert error_of(answer) == {"code": "not_found", "message": "No such purchase."}


def test_an_action_the_desk_does_not_have_is_404(client, admin, paid_token):
    answer = _post(client, "/admin/purchases/cs_test_a1/explode", admin)
    assert answer.status_code == 404
    assert error_of(answer) == {"code": "not_found", "message": "No such action."}
