"""A signed body that is not a well-formed Stripe event is 400 `bad_event` and writes nothing:
a `created` that is not a plausible epoch second, an amount the store reads that is not an
integer from 0 to 10^12, JSON's non-values NaN and Infinity. The buyer e-mail the store cannot
take is a 400 that says what to fix."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.platform.tables import DailySales, DownloadLink, Purchase
from tests.helpers import (
    charge,
    checkout_session,
    counts,
    dispute,
    error_of,
    page_message,
    rows,
    sent_emails,
    signed_headers,
    stripe_event,
)

NOW = int(time.time())


def _post(client: Any, body: bytes) -> Any:
    return client.http.post("/webhooks/stripe", body=body, headers=signed_headers(body))


def _nothing_written() -> None:
    assert rows(Purchase) == [] and rows(DownloadLink) == [] and rows(DailySales) == []
    assert sent_emails() == []


def _completed_text(product_id: str, created: str = str(NOW), **session: Any) -> bytes:
    """A completed-checkout body whose `created` is spliced in as raw JSON text."""
    obj = checkout_session(product_id=product_id, **session)
    event = json.loads(stripe_event("checkout.session.completed", obj, created=123))
    return json.dumps(event).replace('"created": 123', f'"created": {created}').encode()


@pytest.mark.parametrize(
    "created",
    ["1e20", "-1e12", "NaN", "Infinity", "-Infinity", "1700000000.5", "true", '"1700000000"',
     "null", "1262303999", "two days ahead", "100000000000000000000000000000"],
)  # fmt: skip
def test_an_implausible_created_is_400_and_writes_nothing(client, product, created):
    # Test ids must not depend on the clock: pytest-xdist's workers collect them separately.
    created = str(int(time.time()) + 2 * 86_400) if created == "two days ahead" else created
    response = _post(client, _completed_text(product.id, created))
    assert response.status_code == 400, response.body
    error = error_of(response)
    assert error["code"] == "bad_event"
    assert "created" in error["message"] or "JSON" in error["message"]
    _nothing_written()


def test_the_bounds_of_created_are_accepted(client, product):
    assert _post(client, _completed_text(product.id, "1262304000")).status_code == 200
    body = _completed_text(product.id, str(NOW + 3600), session_id="cs_test_ahead")
    assert _post(client, body).status_code == 200


BAD_AMOUNTS = [10**12 + 1, 10**30, -1, 1.5, 1000.0, True, "1999"]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
@pytest.mark.parametrize(
    "path",
    ["amount_total", "amount_subtotal", "total_details.amount_tax",
     "total_details.amount_discount", "currency_conversion.amount_total"],
)  # fmt: skip
def test_a_session_amount_out_of_bounds_is_400_naming_it(client, product, path, amount):
    obj = checkout_session(product_id=product.id)
    obj.update(total_details={"amount_tax": 0, "amount_discount": 0})
    obj.update(currency_conversion={"amount_total": 1999, "source_currency": "usd"})
    target = obj
    *parents, leaf = path.split(".")
    for key in parents:
        target = target[key]
    target[leaf] = amount
    response = _post(client, stripe_event("checkout.session.completed", obj))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "bad_event" and f"`{path}`" in error["message"], error
    _nothing_written()


def test_nan_as_an_amount_is_400(client, product):
    body = _completed_text(product.id).replace(b'"amount_total": 1999', b'"amount_total": NaN')
    response = _post(client, body)
    assert response.status_code == 400 and error_of(response)["code"] == "bad_event"
    _nothing_written()


def test_the_largest_amount_is_accepted(client, product):
    obj = checkout_session(product_id=product.id, amount=10**12)
    assert _post(client, stripe_event("checkout.session.completed", obj)).status_code == 200
    assert int(Purchase.get("cs_test_a1").amount_cents) == 10**12


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_refund_and_dispute_amounts_out_of_bounds_are_400(client, paid_token, amount):
    before = counts()
    for event_type, obj, field in [
        ("charge.refunded", {**charge(), "amount_refunded": amount}, "amount_refunded"),
        ("charge.refunded", {**charge(), "amount": amount}, "amount"),
        ("charge.dispute.created", {**dispute(), "amount": amount}, "amount"),
        ("refund.created", {"id": "re_1", "object": "refund", "amount": amount}, "amount"),
    ]:
        response = _post(client, stripe_event(event_type, obj))
        assert response.status_code == 400, (event_type, response.body)
        assert f"`{field}`" in error_of(response)["message"]
    assert counts() == before
    purchase = Purchase.get("cs_test_a1")
    assert int(purchase.refunded_cents or 0) == 0 and purchase.link_state == "active"


NUMBERS = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    created=NUMBERS,
    amounts=st.fixed_dictionaries(
        {},
        optional={
            "amount_total": NUMBERS,
            "amount_subtotal": NUMBERS,
            "total_details": st.fixed_dictionaries({"amount_tax": NUMBERS}),
        },
    ),
)
def test_random_numbers_in_a_signed_event_never_crash_and_a_refusal_writes_nothing(
    client, product, created, amounts
):
    before = counts()
    obj = {**checkout_session(product_id=product.id, session_id="cs_test_h"), **amounts}
    event = {
        "id": "evt_h",
        "object": "event",
        "type": "checkout.session.completed",
        "created": created,
        "data": {"object": obj},
    }
    body = json.dumps(event, allow_nan=True).encode()
    response = _post(client, body)
    assert response.status_code in (200, 400), response.body
    if response.status_code == 400:
        assert error_of(response)["code"] == "bad_event"
        assert counts() == before


# -- the buyer's e-mail at checkout ------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "fix"),
    [
        ("\ud800@b.co", "not valid text"),
        ("a\u0000b@b.co", "control characters"),
        ("a\u202eb@b.co", "control characters"),
        ("buyer@", "domain after the @"),
        ("buyer@localhost", "domain after the @"),
        ("buyer@b..co", "domain after the @"),
        ("@b.co", "name before an @"),
    ],
)
def test_an_email_the_store_cannot_take_is_a_400_that_says_what_to_fix(
    shop, client, product, email, fix
):
    body = json.dumps({"email": email})  # json.dumps writes the lone surrogate as \ud800
    response = client.http.post(
        f"/checkout/{product.id}", body=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert fix in page_message(response)
    assert shop.sessions == {}
