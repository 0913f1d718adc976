"""The seller's admin API: products with upload URLs, purchases with their link and log."""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import pytest

from chalicelib.platform.tables import DownloadLink, Product, Purchase
from tests.conftest import checkout_session, deliver, sent_emails, stripe_event


def _post(client, path, headers, body=None):
    return client.http.post(
        path, body=json.dumps(body or {}), headers={**headers, "Content-Type": "application/json"}
    )


def _patch(client, path, headers, body):
    return client.http.request(
        "PATCH",
        path,
        body=json.dumps(body),
        headers={**headers, "Content-Type": "application/json"},
    )


@pytest.fixture
def sold(client, product):
    payload = stripe_event("checkout.session.completed", checkout_session(product_id=product.id))
    assert deliver(client, payload).status_code == 200
    return re.search(r"/download/([\w-]{43})", sent_emails()[0].body).group(1)


def _upload(upload, content=b"%PDF new"):
    """PUT to the presigned URL as the dashboard does (in-process moto answers it)."""
    import requests

    answer = requests.put(upload["url"], data=content, timeout=10)
    assert answer.status_code == 200


def test_a_new_product_goes_on_sale_only_once_its_file_is_uploaded(client, admin):
    answer = _post(
        client,
        "/admin/products",
        admin,
        {
            "name": "Video course",
            "description": "Ten lessons",
            "price_cents": 4900,
            "currency": "usd",
            "filename": "course.zip",
        },
    )
    assert answer.status_code == 201
    body = json.loads(answer.body)
    product_id = body["product"]["id"]
    assert body["product"]["price_cents"] == 4900 and body["product"]["active"] is False
    upload = urlparse(body["upload"]["url"])
    assert body["upload"]["method"] == "PUT" and upload.path.endswith("/v1/course.zip")
    assert json.loads(client.http.get("/products").body)["products"] == []

    early = _patch(client, f"/admin/products/{product_id}", admin, {"active": True})
    assert early.status_code == 409
    assert json.loads(early.body)["error"]["code"] == "file_missing"
    assert json.loads(client.http.get("/products").body)["products"] == []

    _upload(body["upload"])
    on = _patch(client, f"/admin/products/{product_id}", admin, {"active": True})
    assert on.status_code == 200
    listed = json.loads(client.http.get("/products").body)["products"]
    assert [p["name"] for p in listed] == ["Video course"]


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "", "price_cents": 500, "filename": "a.pdf"},
        {"name": "X", "price_cents": 19.99, "filename": "a.pdf"},
        {"name": "X", "price_cents": "1999", "filename": "a.pdf"},
        {"name": "X", "price_cents": -5, "filename": "a.pdf"},
        {"name": "X", "price_cents": 500, "filename": "../../etc/passwd"},
        {"name": "X", "price_cents": 500, "filename": "a.pdf", "currency": "dollars"},
        {"name": "X", "price_cents": 500, "filename": "a.pdf", "currency": "jpy"},
    ],
    ids=[
        "no-name",
        "float-price",
        "string-price",
        "negative",
        "path-filename",
        "bad-currency",
        "other-currency",  # reports add one currency's cents; a JPY "cent" is a whole yen
    ],
)
def test_bad_product_fields_are_400_and_create_nothing(client, admin, fields):
    answer = _post(client, "/admin/products", admin, fields)
    assert answer.status_code == 400
    assert json.loads(client.http.get("/admin/products", headers=admin).body)["products"] == []


def test_a_new_file_version_reaches_buyers_only_once_uploaded(client, admin, product):
    answer = _patch(
        client,
        f"/admin/products/{product.id}",
        admin,
        {"price_cents": 2500, "filename": "handbook-2.pdf"},
    )
    body = json.loads(answer.body)
    assert answer.status_code == 200
    assert body["product"]["price_cents"] == 2500 and body["product"]["file_version"] == 1
    assert body["product"]["pending_filename"] == "handbook-2.pdf"
    assert urlparse(body["upload"]["url"]).path.endswith("/v2/handbook-2.pdf")
    # Still on sale with the file buyers had; the new one is not there yet.
    assert body["product"]["active"] is True
    early = _patch(client, f"/admin/products/{product.id}", admin, {"publish_file": True})
    assert early.status_code == 409 and json.loads(early.body)["error"]["code"] == "file_missing"
    assert Product.get(product.id).file_key.endswith("/v1/bull-handbook.pdf")

    _upload(body["upload"])
    published = _patch(client, f"/admin/products/{product.id}", admin, {"publish_file": True})
    assert published.status_code == 200
    assert json.loads(published.body)["product"]["file_version"] == 2
    payload = stripe_event(
        "checkout.session.completed",
        checkout_session("cs_test_v2", product_id=product.id, payment_intent="pi_v2"),
    )
    assert deliver(client, payload).status_code == 200
    link = DownloadLink.get(Purchase.get("cs_test_v2").token_hash)
    assert link.file_key.endswith("/v2/handbook-2.pdf") and link.filename == "handbook-2.pdf"


def test_unlisting_takes_a_product_off_the_storefront(client, admin, product):
    off = _patch(client, f"/admin/products/{product.id}", admin, {"active": False})
    assert json.loads(off.body)["product"]["active"] is False
    assert json.loads(client.http.get("/products").body)["products"] == []


@pytest.mark.parametrize(
    "body", [{"price_cents": "free"}, {"active": "yes"}, {"owner": "me"}, {"name": 5}]
)
def test_bad_patch_is_400(client, admin, product, body):
    assert _patch(client, f"/admin/products/{product.id}", admin, body).status_code == 400


def test_patch_of_unknown_product_is_404(client, admin, aws):
    assert (
        _patch(client, "/admin/products/prod_nope12345678", admin, {"active": False}).status_code
        == 404
    )


def test_purchases_are_found_by_email_and_listed_as_recent(client, admin, sold):
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


def test_purchase_detail_shows_the_download_log(client, admin, sold):
    client.http.post(f"/download/{sold}", headers={"User-Agent": "Evidence/1.0"})
    detail = json.loads(client.http.get("/admin/purchases/cs_test_a1", headers=admin).body)
    purchase = detail["purchase"]
    assert purchase["downloads_left"] == 4
    assert [entry["user_agent"] for entry in purchase["download_log"]] == ["Evidence/1.0"]


def test_resend_mails_a_new_link_and_kills_the_old_one(client, admin, sold):
    client.http.post(f"/download/{sold}")
    answer = _post(client, "/admin/purchases/cs_test_a1/resend", admin)
    assert answer.status_code == 200
    assert len(sent_emails()) == 2
    new = re.search(r"/download/([\w-]{43})", sent_emails()[1].body).group(1)
    assert new != sold
    gone = client.http.post(f"/download/{sold}")
    assert gone.status_code == 410 and "newer link" in gone.body.decode()
    assert "4 downloads left" in client.http.get(f"/download/{new}").body.decode()


def test_a_download_during_a_resend_is_not_given_back(client, admin, sold, monkeypatch):
    from pynamodb.connection import Connection

    real = Connection._make_api_call
    raced = []

    def download_first(conn, operation, kwargs):
        if operation == "TransactWriteItems" and not raced:
            # The buyer clicks after the resend read the old link, before its commit lands.
            raced.append(client.http.post(f"/download/{sold}").status_code)
        return real(conn, operation, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", download_first)
    assert _post(client, "/admin/purchases/cs_test_a1/resend", admin).status_code == 200
    assert raced == [303]
    assert DownloadLink.get(Purchase.get("cs_test_a1").token_hash).downloads_left == 4


def test_reset_restores_downloads_and_revoke_kills_the_link(client, admin, sold):
    for _ in range(5):
        client.http.post(f"/download/{sold}")
    assert client.http.post(f"/download/{sold}").status_code == 410
    assert _post(client, "/admin/purchases/cs_test_a1/reset", admin).status_code == 200
    assert DownloadLink.get(Purchase.get("cs_test_a1").token_hash).downloads_left == 5
    assert client.http.post(f"/download/{sold}").status_code == 303
    assert _post(client, "/admin/purchases/cs_test_a1/revoke", admin).status_code == 200
    assert client.http.post(f"/download/{sold}").status_code == 410


@pytest.fixture
def delivered(stripe_api):
    """The stand-in holds the sale's charge; the events it would send are captured here."""
    stripe_api.charges["ch_1"] = {
        "id": "ch_1",
        "object": "charge",
        "amount": 1999,
        "amount_refunded": 0,
        "currency": "usd",
        "payment_intent": "pi_test_a1",
        "refunded": False,
    }
    events = []
    stripe_api.deliver = lambda kind, obj: events.append((kind, obj)) or 200
    return events


def test_refund_button_asks_stripe_and_the_webhook_kills_the_link(client, admin, sold, delivered):
    assert _post(client, "/admin/purchases/cs_test_a1/refund", admin).status_code == 200
    assert delivered[0][0] == "charge.refunded" and delivered[0][1]["amount_refunded"] == 1999
    deliver(client, stripe_event("charge.refunded", delivered[0][1]))
    assert client.http.post(f"/download/{sold}").status_code == 410


def test_a_second_refund_click_is_409_and_refunds_nothing_more(
    client, admin, sold, stripe_api, delivered
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


@pytest.mark.parametrize("action", ["resend", "reset", "revoke", "refund", "explode"])
def test_actions_on_unknown_purchase_are_404(client, admin, aws, action):
    assert _post(client, f"/admin/purchases/cs_test_nope/{action}", admin).status_code == 404
