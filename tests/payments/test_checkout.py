"""Checkout: a Stripe Checkout Session from the product record, and every way a request to
buy is refused, each saying why. (After payment: tests/sale/test_thanks.py.)"""

from __future__ import annotations

import json

import pytest

from chalicelib import store
from chalicelib.catalog.products import Catalog
from tests.helpers import buy, fresh_store, page_message

FORM = "application/x-www-form-urlencoded"


def _session(standin):
    assert len(standin.sessions) == 1
    return next(iter(standin.sessions.values()))


def test_checkout_redirects_to_stripe_with_the_recorded_price(shop, client, product):
    form = "email=buyer%40example.test&price_cents=1&amount=0.01&product_id=prod_other"
    response = buy(client, product.id, form)
    assert response.status_code == 303
    session = _session(shop)
    assert response.headers["Location"] == session["url"]
    assert session["amount_total"] == 1999 and session["currency"] == "usd"
    assert session["metadata"] == {"product_id": product.id, "store": "bull-test"}
    assert session["customer_email"] == "buyer@example.test"
    assert session["success_url"] == (
        "https://store.example.test/thanks?session_id={CHECKOUT_SESSION_ID}"
    )
    assert session["cancel_url"] == "https://store.example.test/"


def test_a_price_of_19_99_entered_by_the_seller_is_charged_as_1999_cents(shop, client, aws):
    from bull_chalice import resources
    from chalicelib.money import parse_amount

    item = resources.add_product(
        store.current().catalog,
        __import__("boto3").client("s3", region_name="us-east-1"),
        store.current().settings,
        name="Course",
        price_cents=parse_amount("19.99"),
        filename="course.zip",
        content=b"zip",
    )
    client.http.post(f"/checkout/{item.id}")
    assert _session(shop)["amount_total"] == 1999


@pytest.mark.parametrize("content_type", [None, "application/json"])
def test_bare_post_or_empty_json_starts_checkout_without_email(shop, client, product, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.http.post(f"/checkout/{product.id}", headers=headers)
    assert response.status_code == 303
    assert _session(shop)["customer_email"] is None


def test_json_body_with_email_is_accepted(shop, client, product):
    response = client.http.post(
        f"/checkout/{product.id}",
        body=json.dumps({"email": "json@example.test"}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 303
    assert _session(shop)["customer_email"] == "json@example.test"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("{not json", "application/json", "request body is not valid JSON"),
        ("[1, 2]", "application/json", "request body must be a JSON object"),
        ('{"email": 5}', "application/json", "The email address must be text."),
        ("email=not-an-address", FORM,
         "The email address needs a name before an @, like name@example.com."),
        ("email=" + "a" * 20000, FORM, "request body is too large"),
        (b"\xff\xfe\x00", FORM, "request body is not UTF-8 text"),
        ("email=a&&b=%", FORM, "request body is not a valid form"),
        ("some text", "text/plain", "send the fields as a form or as JSON"),
        ("[" * 3000, "application/json", "request body is not valid JSON"),
    ],
    ids=["bad-json", "json-list", "email-number", "bad-email", "huge", "not-utf8", "bad-form",
         "text", "deep"],
)  # fmt: skip
def test_unreadable_checkout_body_is_a_400_page_that_says_why_and_starts_nothing(
    shop, client, product, body, content_type, message
):
    response = client.http.post(
        f"/checkout/{product.id}", body=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400
    assert page_message(response) == message
    assert shop.sessions == {}


@pytest.mark.parametrize("product_id", ["prod_doesnotexist01", "not-a-product", "%00", "x" * 300])
def test_unknown_product_is_404_and_starts_nothing(shop, client, product, product_id):
    response = client.http.post(f"/checkout/{product_id}")
    assert response.status_code == 404
    assert page_message(response) in ("No such product.", "This product is not on sale.")
    assert shop.sessions == {}


def test_inactive_product_cannot_be_bought(shop, client, product):
    store.current().catalog.update(product.id, {"active": False})
    response = client.http.post(f"/checkout/{product.id}")
    assert response.status_code == 404
    assert page_message(response) == "This product is not on sale."


def test_an_email_stripe_refuses_is_a_400_that_says_so(shop, client, product):
    response = buy(client, product.id, "email=buyer%40example.")
    assert response.status_code == 400
    assert "email address" in page_message(response)
    assert shop.sessions == {}


def test_a_price_change_reaches_the_very_next_checkout(shop, client, product):
    client.http.post(f"/checkout/{product.id}")  # warms this container's product cache
    Catalog().update(product.id, {"price_cents": 2500})  # the seller, through another container
    client.http.post(f"/checkout/{product.id}")
    amounts = [s["amount_total"] for s in shop.sessions.values()]
    assert amounts == [1999, 2500]


def test_a_product_just_taken_off_sale_cannot_be_bought(shop, client, product):
    client.http.post(f"/checkout/{product.id}")
    Catalog().update(product.id, {"active": False})
    assert client.http.post(f"/checkout/{product.id}").status_code == 404
    assert len(shop.sessions) == 1


def test_stripe_down_gives_a_clear_502_page(client, product, monkeypatch, clock):
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:9")
    fresh_store(clock)
    response = client.http.post(f"/checkout/{product.id}")
    assert response.status_code == 502, response.body
    assert b"payment provider" in response.body and b"Traceback" not in response.body
