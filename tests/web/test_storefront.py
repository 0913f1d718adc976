"""The storefront and the product list: what a buyer sees before paying."""

from __future__ import annotations

import json

import pytest

from chalicelib import store


def test_storefront_lists_products_on_sale_with_price_and_buy_form(client, product):
    response = client.http.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    body = response.body.decode()
    assert "The Bull Handbook" in body and "$19.99" in body
    assert f'action="https://store.example.test/checkout/{product.id}"' in body
    assert 'method="post"' in body


def test_products_json_lists_active_products_in_cents(client, product):
    response = client.http.get("/products")
    assert response.status_code == 200
    assert json.loads(response.body) == {
        "products": [
            {
                "id": product.id,
                "name": "The Bull Handbook",
                "description": "Everything about selling files.",
                "price_cents": 1999,
                "currency": "usd",
            }
        ]
    }


def test_deactivated_product_leaves_the_store(client, product):
    store.current().catalog.update(product.id, {"active": False})
    assert json.loads(client.http.get("/products").body) == {"products": []}
    assert "The Bull Handbook" not in client.http.get("/").body.decode()


def test_empty_store_says_so(client, aws):
    body = client.http.get("/").body.decode()
    assert "Nothing is on sale" in body


def test_product_text_is_escaped_in_the_storefront(client, product):
    store.current().catalog.update(product.id, {"name": "<img src=x onerror=alert(1)>"})
    body = client.http.get("/").body.decode()
    assert "<img src=x" not in body and "&lt;img src=x" in body


@pytest.mark.parametrize(
    "page",
    [
        "/",
        "/download/{token}",
        "/download/" + "A" * 43,
        "/thanks?session_id=cs_test_nope",
        "/admin",
    ],
    ids=["storefront", "link", "unknown-link", "unknown-thanks", "dashboard"],
)
def test_pages_send_security_headers_and_never_leak_the_link_as_referrer(client, paid_token, page):
    """Every page, the link's own landing page included, tells the browser to send no Referer:
    the Buy form's redirect to Stripe and the download's redirect to S3 never carry the link."""
    answer = client.http.get(page.format(token=paid_token))
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_an_unsupported_media_type_on_a_browser_route_is_a_415_page(client, product):
    answer = client.http.post(
        f"/checkout/{product.id}", body="<xml/>", headers={"Content-Type": "text/xml"}
    )
    assert answer.status_code == 415
    assert answer.headers["Content-Type"].startswith("text/html")
    assert b"UnsupportedMediaType" not in answer.body


def test_an_unsupported_media_type_on_an_api_route_is_a_json_error(client, aws):
    answer = client.http.post(
        "/webhooks/stripe", body="<xml/>", headers={"Content-Type": "text/xml"}
    )
    assert answer.status_code == 415
    assert json.loads(answer.body)["error"]["code"] == "unsupported_media_type"


def test_a_method_a_route_does_not_take_is_a_405_json_error_with_allow(client, aws):
    answer = client.http.put("/products", body="{}")
    assert answer.status_code == 405
    assert json.loads(answer.body)["error"]["code"] == "method_not_allowed"
    assert answer.headers["Allow"] == "GET"
