"""The license routes the seller's software calls: validate, activate, deactivate. Keys of
refunded, revoked or disputed purchases do not work; activations never pass the limit however
many arrive at once; unknown keys are limited per client."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chalicelib import store
from chalicelib.platform.tables import License, MailAllowance
from chalicelib.sale.license_keys import derive_key, item_key
from chalicelib.sale.licenses import GUESSES_PER_CLIENT
from tests.helpers import (
    SESSION,
    charge,
    deliver,
    dispute,
    error_of,
    fresh_store,
    sell,
    send_json,
    stripe_event,
)

SECRET = "link-key-for-tests-only-" + "k" * 16
KEY = derive_key(SECRET, SESSION)


def call(client, action: str, **body):
    return send_json(client, "POST", f"/licenses/{action}", {}, body)


def answer(response) -> dict:
    return json.loads(response.body)


def license_item() -> License:
    return License.get(item_key(KEY), consistent_read=True)


@pytest.fixture
def key(client, product) -> str:
    """A paid purchase (`SESSION`) of a product with license keys, 3 activations each."""
    store.current().catalog.update(product.id, {"license_keys": True, "activation_limit": 3})
    sell(client, product.id)
    return KEY


def test_a_paid_key_is_valid_with_no_activations_yet(client, key, product):
    response = call(client, "validate", license_key=key)
    assert response.status_code == 200
    assert answer(response) == {
        "valid": True,
        "status": "active",
        "product_id": product.id,
        "activations": 0,
        "activation_limit": 3,
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_a_key_as_the_buyer_typed_it_is_the_same_key(client, key):
    typed = " ".join(key.lower().split("-"))
    assert answer(call(client, "validate", license_key=typed))["valid"] is True


def test_an_unknown_key_is_not_valid(client, key):
    other = derive_key(SECRET, "cs_test_other")
    for typed in (other, "not a key at all"):
        response = call(client, "validate", license_key=typed)
        assert response.status_code == 200
        assert answer(response) == {
            "valid": False,
            "status": "unknown",
            "product_id": None,
            "activations": 0,
            "activation_limit": 0,
        }


def test_activate_then_validate_the_instance_then_deactivate_frees_it(client, key):
    made = call(client, "activate", license_key=key, instance_name="Studio Mac")
    assert made.status_code == 201
    instance = answer(made)["instance_id"]
    assert answer(made)["instance_name"] == "Studio Mac"
    assert answer(made)["activations"] == 1
    seen = answer(call(client, "validate", license_key=key, instance_id=instance))
    assert (seen["valid"], seen["instance_active"], seen["activations"]) == (True, True, 1)
    assert license_item().activations[instance]["name"] == "Studio Mac"

    freed = call(client, "deactivate", license_key=key, instance_id=instance)
    assert freed.status_code == 200
    assert answer(freed)["deactivated"] is True and answer(freed)["activations"] == 0
    after = answer(call(client, "validate", license_key=key, instance_id=instance))
    assert (after["valid"], after["instance_active"], after["status"]) == (False, False, "active")
    again = call(client, "deactivate", license_key=key, instance_id=instance)
    assert again.status_code == 404 and error_of(again)["code"] == "unknown_instance"
    assert license_item().activation_count == 0


def test_activations_stop_at_the_limit_and_a_deactivation_makes_room(client, key):
    ids = [
        answer(call(client, "activate", license_key=key, instance_name=f"pc {n}"))["instance_id"]
        for n in range(3)
    ]
    refused = call(client, "activate", license_key=key, instance_name="pc 4")
    assert refused.status_code == 409 and error_of(refused)["code"] == "activation_limit"
    assert call(client, "deactivate", license_key=key, instance_id=ids[0]).status_code == 200
    assert call(client, "activate", license_key=key, instance_name="pc 4").status_code == 201
    assert license_item().activation_count == 3


def test_twelve_concurrent_activations_with_a_limit_of_three_give_exactly_three(client, key):
    def activate(n: int) -> int:
        return call(client, "activate", license_key=key, instance_name=f"seat {n}").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(activate, range(12)))
    assert sorted(statuses) == [201] * 3 + [409] * 9
    item = license_item()
    assert item.activation_count == 3 and len(item.activations.as_dict()) == 3


def test_unknown_keys_and_instances_are_404(client, key):
    other = derive_key(SECRET, "cs_test_other")
    unknown = call(client, "activate", license_key=other, instance_name="pc")
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "unknown_key"
    gone = call(client, "deactivate", license_key=other, instance_id="inst_" + "0" * 20)
    assert gone.status_code == 404 and error_of(gone)["code"] == "unknown_key"
    never = call(client, "deactivate", license_key=key, instance_id="inst_" + "0" * 20)
    assert never.status_code == 404 and error_of(never)["code"] == "unknown_instance"


def test_a_full_refund_makes_the_key_invalid_and_refuses_activation(client, key):
    call(client, "activate", license_key=key, instance_name="pc")
    assert deliver(client, stripe_event("charge.refunded", charge(1999))).status_code == 200
    state = answer(call(client, "validate", license_key=key))
    assert (state["valid"], state["status"], state["activations"]) == (False, "refunded", 1)
    refused = call(client, "activate", license_key=key, instance_name="pc 2")
    assert refused.status_code == 410 and error_of(refused)["code"] == "refunded"
    assert license_item().activation_count == 1


def test_a_refund_landing_while_an_activation_runs_takes_the_activation_back(
    client, key, monkeypatch
):
    from chalicelib.sale.purchases import Purchases

    real = Purchases.get
    refunds = []

    def read_then_refund(self, session_id):
        purchase = real(self, session_id)  # still paid when the activation reads it...
        if not refunds:  # ...and refunded in full before the activation writes
            refunds.append(None)
            refunds[0] = deliver(client, stripe_event("charge.refunded", charge(1999)))
        return purchase

    monkeypatch.setattr(Purchases, "get", read_then_refund)
    refused = call(client, "activate", license_key=key, instance_name="pc")
    assert refunds[0].status_code == 200
    assert refused.status_code == 410 and error_of(refused)["code"] == "refunded"
    assert license_item().activation_count == 0


def test_an_activation_whose_standing_cannot_be_confirmed_is_taken_back(client, key, monkeypatch):
    from chalicelib.errors import Unavailable
    from chalicelib.sale.purchases import Purchases

    real, reads = Purchases.get, []

    def second_read_fails(self, session_id):
        reads.append(session_id)
        if len(reads) == 2:
            raise Unavailable("DynamoDB is down")
        return real(self, session_id)

    monkeypatch.setattr(Purchases, "get", second_read_fails)
    failed = call(client, "activate", license_key=key, instance_name="pc")
    assert failed.status_code == 503
    assert license_item().activation_count == 0  # the retry finds every seat free


def test_a_partial_refund_leaves_the_key_working(client, key):
    assert deliver(client, stripe_event("charge.refunded", charge(500))).status_code == 200
    assert answer(call(client, "validate", license_key=key))["valid"] is True


def test_a_disputed_purchase_has_no_working_key_until_the_dispute_is_won(client, key):
    deliver(client, stripe_event("charge.dispute.created", dispute()))
    state = answer(call(client, "validate", license_key=key))
    assert (state["valid"], state["status"]) == (False, "disputed")
    refused = call(client, "activate", license_key=key, instance_name="pc")
    assert refused.status_code == 410 and error_of(refused)["code"] == "disputed"
    deliver(client, stripe_event("charge.dispute.closed", dispute("won")))
    assert answer(call(client, "validate", license_key=key))["valid"] is True


def test_a_key_the_seller_revoked_does_not_work(client, key):
    store.current().after_sale().act("revoke", SESSION, None)
    state = answer(call(client, "validate", license_key=key))
    assert (state["valid"], state["status"]) == (False, "revoked")
    refused = call(client, "activate", license_key=key, instance_name="pc")
    assert refused.status_code == 410 and error_of(refused)["code"] == "revoked"


@pytest.mark.parametrize(
    ("action", "body", "code"),
    [
        ("validate", {}, "bad_license_key"),
        ("validate", {"license_key": 42}, "bad_license_key"),
        ("validate", {"license_key": KEY, "instance_id": "pc-1"}, "bad_instance_id"),
        ("activate", {"license_key": KEY}, "bad_instance_name"),
        ("activate", {"license_key": KEY, "instance_name": "  "}, "bad_instance_name"),
        ("activate", {"license_key": KEY, "instance_name": "x" * 201}, "bad_instance_name"),
        ("activate", {"instance_name": "pc"}, "bad_license_key"),
        ("deactivate", {"license_key": KEY}, "bad_instance_id"),
        ("deactivate", {"license_key": KEY, "instance_id": ["inst_1"]}, "bad_instance_id"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(client, key, action, body, code):
    response = send_json(client, "POST", f"/licenses/{action}", {}, body)
    assert response.status_code == 400 and error_of(response)["code"] == code
    item = license_item()
    assert (item.activation_count, item.activations.as_dict()) == (0, {})
    assert not [a for a in MailAllowance.scan() if a.token_hash.startswith("allowance#")]


def test_a_body_that_is_not_json_is_400(client, key):
    response = client.http.post(
        "/licenses/activate", body=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and error_of(response)["code"] == "bad_request"
    assert license_item().activation_count == 0


def test_too_many_unknown_keys_from_a_client_is_429_with_retry_after_even_for_a_real_key(
    client, key, clock
):
    clock.freeze()
    for n in range(GUESSES_PER_CLIENT):
        guess = derive_key(SECRET, f"cs_guess_{n}")
        assert call(client, "validate", license_key=guess).status_code == 200
    for action, body in (
        ("validate", {"license_key": key}),
        ("activate", {"license_key": key, "instance_name": "pc"}),
        ("deactivate", {"license_key": key, "instance_id": "inst_" + "0" * 20}),
    ):
        refused = call(client, action, **body)
        assert refused.status_code == 429, action
        assert error_of(refused)["code"] == "too_many_requests"
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert license_item().activation_count == 0
    clock.advance(timedelta(hours=1, seconds=1))
    assert answer(call(client, "validate", license_key=key))["valid"] is True


def test_the_guessing_limit_is_per_client_and_holds_across_containers(client, key, clock):
    licenses = store.current().licenses
    for n in range(GUESSES_PER_CLIENT):
        licenses.validate({"license_key": derive_key(SECRET, f"cs_guess_{n}")}, "203.0.113.7")
    fresh_store(clock)  # another Lambda container
    licenses = store.current().licenses
    with pytest.raises(Exception) as refused:
        licenses.validate({"license_key": key}, "203.0.113.7")
    assert getattr(refused.value, "status", None) == 429
    assert licenses.validate({"license_key": key}, "203.0.113.8")["valid"] is True
    # Known keys never count against a client.
    for _ in range(GUESSES_PER_CLIENT + 5):
        assert licenses.validate({"license_key": key}, "203.0.113.9")["valid"] is True
