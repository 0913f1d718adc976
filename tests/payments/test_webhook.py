"""The Stripe webhook: only signed Stripe events get in (each refusal with its code), and
events that are not this store's are acknowledged and ignored. (What a paid checkout does:
tests/sale/test_fulfilment.py.)"""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.platform.tables import Purchase
from tests.helpers import (
    checkout_session,
    completed,
    deliver,
    error_of,
    rows,
    sent_emails,
    signed_headers,
    stripe_event,
    stripe_signature,
)


def _post(client, payload, headers):
    return client.http.post(
        "/webhooks/stripe", body=payload, headers={"Content-Type": "application/json", **headers}
    )


def _refused(response, code, message):
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code and message in (None, error["message"]), error
    assert rows(Purchase) == [] and sent_emails() == []


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (lambda payload: None, "missing Stripe-Signature header"),
        (lambda payload: "garbage", "invalid Stripe signature"),
        (lambda payload: "t=123,v1=deadbeef", "invalid Stripe signature"),
        (lambda payload: stripe_signature(payload, "whsec_other"), "invalid Stripe signature"),
        (lambda payload: stripe_signature(payload, timestamp=int(time.time()) - 301),
         "invalid Stripe signature"),
        (lambda payload: stripe_signature(json.dumps(json.loads(payload), indent=2).encode()),
         "invalid Stripe signature"),
        (lambda payload: stripe_signature(payload + b" "), "invalid Stripe signature"),
    ],
    ids=["missing", "garbage", "wrong", "another-secret", "stale", "reserialised-json",
         "another-body"],
)  # fmt: skip
def test_a_bad_signature_is_400_bad_signature_and_writes_nothing(
    client, product, signature, message
):
    payload = completed(product.id)
    header = signature(payload)
    response = _post(client, payload, {"Stripe-Signature": header} if header else {})
    _refused(response, "bad_signature", message)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{}", "body is not a Stripe event"),
        (b"[]", "body is not a Stripe event"),
        (b"not json", "body is not JSON"),
        (b'{"type": "checkout.session.completed"}', "body is not a Stripe event"),
        (
            b'{"type": "checkout.session.completed", "created": 1, "data": {"object": "x"}}',
            "body is not a Stripe event",
        ),
        (
            b'{"type": "charge.refunded", "created": "soon", "data": {"object": {}}}',
            "event `created` must be an integer epoch second from 2010 to now",
        ),
        pytest.param(
            "caf\u00e9 \u2603".encode("utf-16"),
            None,  # its wording is the fix's to choose
            marks=pytest.mark.xfail(
                strict=True,
                reason="app bug: verify_event decodes the body before checking the signature, "
                "so a correctly signed non-UTF-8 body is refused as bad_signature",
            ),
        ),
    ],
    ids=["empty-object", "list", "text", "no-data", "object-not-dict", "bad-created", "not-utf8"],
)
def test_signed_body_that_is_not_an_event_is_400_bad_event(client, product, payload, message):
    # Signed as Stripe signs: over the raw bytes, whatever they are.
    response = _post(client, payload, {"Stripe-Signature": stripe_signature(payload)})
    _refused(response, "bad_event", message)


def test_unhandled_event_type_is_acknowledged_and_ignored(client, product):
    payload = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    response = deliver(client, payload)
    assert response.status_code == 200
    assert json.loads(response.body)["result"] == "ignored"


def test_session_of_another_store_is_acknowledged_and_ignored(client, product):
    payload = completed("prod_notours12345")
    response = deliver(client, payload)
    assert response.status_code == 200
    assert rows(Purchase) == [] and sent_emails() == []


def test_a_session_of_another_stage_on_the_same_stripe_account_is_ignored(client, product):
    session = checkout_session(product_id=product.id)
    session["metadata"]["store"] = "bull-prod"
    answer = deliver(client, stripe_event("checkout.session.completed", session))
    assert answer.status_code == 200 and b"ignored" in answer.body
    assert rows(Purchase) == [] and sent_emails() == []


def test_a_signature_made_as_stripe_makes_it_is_accepted(client, product):
    """The signing helper the refusals rely on agrees with Stripe's own library."""
    import stripe

    payload = completed(product.id)
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), "s", 1000)
    assert header == stripe_signature(payload, "s", 1000)
    assert _post(client, payload, signed_headers(payload)).status_code == 200
