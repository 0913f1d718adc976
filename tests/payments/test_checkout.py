"""Checkout: a Stripe Checkout Session from the product record, and the thanks page."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from chalicelib import store
from chalicelib.catalog.products import Catalog
from chalicelib.platform.tables import Purchase
from tests.conftest import fresh_store, sent_emails


@pytest.fixture
def shop(stripe_api, client, product):
    return stripe_api


def _session(standin):
    assert len(standin.sessions) == 1
    return next(iter(standin.sessions.values()))


def test_checkout_redirects_to_stripe_with_the_recorded_price(shop, client, product):
    response = client.http.post(
        f"/checkout/{product.id}",
        body="email=buyer%40example.test&price_cents=1&amount=0.01&product_id=prod_other",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
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
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('{"email": 5}', "application/json"),
        ("email=not-an-address", "application/x-www-form-urlencoded"),
        ("email=" + "a" * 20000, "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
        ("some text", "text/plain"),
        ("[" * 3000, "application/json"),
    ],
    ids=["bad-json", "json-list", "email-number", "bad-email", "huge", "not-utf8", "text", "deep"],
)
def test_unreadable_checkout_body_is_400_and_starts_nothing(
    shop, client, product, body, content_type
):
    response = client.http.post(
        f"/checkout/{product.id}", body=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400
    assert b"Traceback" not in response.body
    assert shop.sessions == {}


@pytest.mark.parametrize("product_id", ["prod_doesnotexist01", "not-a-product", "%00", "x" * 300])
def test_unknown_product_is_404_and_starts_nothing(shop, client, product, product_id):
    response = client.http.post(f"/checkout/{product_id}")
    assert response.status_code == 404
    assert shop.sessions == {}


def test_inactive_product_cannot_be_bought(shop, client, product):
    store.current().catalog.update(product.id, {"active": False})
    assert client.http.post(f"/checkout/{product.id}").status_code == 404


def test_an_email_stripe_refuses_is_a_400_that_says_so(shop, client, product):
    response = client.http.post(
        f"/checkout/{product.id}",
        body="email=buyer%40example.",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "email address" in response.body.decode()
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


def _pay(standin, session_id, email="buyer@example.test"):
    session = standin.sessions[session_id]
    session.update(
        payment_status="paid",
        status="complete",
        payment_intent="pi_test_thanks",
        customer_details={"email": email},
    )


def test_thanks_after_payment_fulfils_once_and_shows_the_mailed_link(shop, client, product):
    client.http.post(f"/checkout/{product.id}")
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)

    first = client.http.get(f"/thanks?session_id={session_id}")
    second = client.http.get(f"/thanks?session_id={session_id}")

    assert first.status_code == second.status_code == 200
    link = re.search(
        r'href="(https://store\.example\.test/download/[\w-]{43})"', first.body.decode()
    )
    assert link and link.group(1) in second.body.decode()
    assert len(sent_emails()) == 1 and link.group(1) in sent_emails()[0].body
    assert Purchase.get(session_id).status == "paid"


def test_thanks_stops_showing_the_link_an_hour_after_payment(shop, client, product, clock):
    client.http.post(f"/checkout/{product.id}")
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)
    assert "/download/" in client.http.get(f"/thanks?session_id={session_id}").body.decode()
    clock.advance(timedelta(hours=1, minutes=1))
    page = client.http.get(f"/thanks?session_id={session_id}")
    assert page.status_code == 200
    assert "/download/" not in page.body.decode() and "in the email" in page.body.decode()


def test_thanks_never_shows_a_link_made_by_a_resend(shop, client, product):
    client.http.post(f"/checkout/{product.id}")
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)
    client.http.get(f"/thanks?session_id={session_id}")
    store.current().after_sale().resend(session_id)
    page = client.http.get(f"/thanks?session_id={session_id}").body.decode()
    assert "/download/" not in page
    assert len(sent_emails()) == 2


def test_thanks_shows_the_link_to_a_paid_buyer_even_while_ses_is_down(
    shop, client, product, monkeypatch
):
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.platform import aws

    def down(**kwargs):
        raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    client.http.post(f"/checkout/{product.id}")
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)
    monkeypatch.setattr(aws.ses_client(), "send_email", down)
    page = client.http.get(f"/thanks?session_id={session_id}")
    assert page.status_code == 200
    assert re.search(r"/download/[\w-]{43}", page.body.decode())
    assert sent_emails() == []
    assert Purchase.get(session_id).status == "paid"


def test_thanks_while_payment_is_pending_promises_an_email(shop, client, product):
    client.http.post(
        f"/checkout/{product.id}",
        body="email=wait%40example.test",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    session_id = next(iter(shop.sessions))
    page = client.http.get(f"/thanks?session_id={session_id}")
    assert page.status_code == 200
    assert "not cleared yet" in page.body.decode() and "/download/" not in page.body.decode()
    assert sent_emails() == []


@pytest.mark.parametrize(
    "query", ["", "?session_id=", "?session_id=cs_test_unknown", "?session_id=evil<script>"]
)
def test_thanks_for_a_missing_or_unknown_session_is_404(shop, client, product, query):
    response = client.http.get(f"/thanks{query}")
    assert response.status_code == 404
    assert b"<script>" not in response.body
